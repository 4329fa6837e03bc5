package scrape

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/graftlabs/graft/pkg/storage/memstore"
)

const textBody = `# HELP http_requests_total Requests.
# TYPE http_requests_total counter
http_requests_total{code="200",method="get"} 1027
http_requests_total{code="500",method="get"} 3
# A plain comment
temperature -1.5e3
# TYPE latency histogram
latency_bucket{le="0.1"} 1
latency_bucket{le="+Inf"} 2
latency_sum 0.3
latency_count 2
nan_metric NaN
inf_metric +Inf
`

func TestScrapeTextFormat(t *testing.T) {
	h := newHarness(t, "")
	h.target.set(http.StatusOK, ctText, textBody)
	ts := h.scrape(1)

	want := map[string]float64{
		h.lbl("http_requests_total", "code", "200", "method", "get").String(): 1027,
		h.lbl("http_requests_total", "code", "500", "method", "get").String(): 3,
		h.lbl("temperature").String():                                         -1500,
		h.lbl("latency_bucket", "le", "0.1").String():                         1,
		h.lbl("latency_bucket", "le", "+Inf").String():                        2,
		h.lbl("latency_sum").String():                                         0.3,
		h.lbl("latency_count").String():                                       2,
		h.lbl("inf_metric").String():                                          math.Inf(1),
	}
	got := dump(t, h.store)
	for k, v := range want {
		pts := got[k]
		if len(pts) != 1 || pts[0].T != ts || pts[0].V != v {
			t.Errorf("%s = %v, want %g@%d", k, pts, v, ts)
		}
	}
	nan := got[h.lbl("nan_metric").String()]
	if len(nan) != 1 || !math.IsNaN(nan[0].V) || value.IsStaleNaN(nan[0].V) {
		t.Errorf("nan_metric = %v, want a plain NaN", nan)
	}
	if n := len(got); n != len(want)+1+len(reportNames) {
		t.Errorf("%d series stored, want %d: %v", n, len(want)+1+len(reportNames), keysOf(got))
	}

	rep := h.report(ts)
	if rep["up"] != 1 || rep["scrape_samples_scraped"] != 9 || rep["scrape_samples_post_metric_relabeling"] != 9 || rep["scrape_series_added"] != 9 {
		t.Fatalf("report = %v", rep)
	}
	if d := rep["scrape_duration_seconds"]; d < 0 {
		t.Fatalf("scrape_duration_seconds = %v", d)
	}

	// Second scrape: nothing new.
	ts2 := h.scrape(2)
	rep = h.report(ts2)
	if rep["up"] != 1 || rep["scrape_samples_scraped"] != 9 || rep["scrape_series_added"] != 0 {
		t.Fatalf("second report = %v", rep)
	}
	if v := valueAt(t, h.store, h.lbl("temperature"), ts2); v != -1500 {
		t.Fatalf("temperature at second scrape = %v", v)
	}

	st := h.mgrTargetStatus()
	if st.Health != HealthGood || st.LastError != "" {
		t.Fatalf("target status = %+v", st)
	}
	if !st.LastScrape.Equal(h.base.Add(2 * time.Second)) {
		t.Fatalf("LastScrape = %v, want %v", st.LastScrape, h.base.Add(2*time.Second))
	}
}

// mgrTargetStatus returns the status of the harness's (unstarted) loop.
func (h *harness) mgrTargetStatus() TargetStatus { return h.loop.target.status() }

func keysOf(m map[string][]pt) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// The exemplar after the value is OpenMetrics-only syntax: the Prometheus
// text parser would fail on it, so success proves the OpenMetrics parser ran.
const omBody = `# TYPE requests counter
# HELP requests Requests.
requests_total{path="/"} 10 # {trace_id="abc"} 1.0 1700000000.000
requests_created{path="/"} 1.7e+09
# TYPE temp gauge
temp 21.5
# EOF
`

func TestScrapeOpenMetrics(t *testing.T) {
	for _, ct := range []string{ctOM, "application/openmetrics-text; version=0.0.1", "application/openmetrics-text"} {
		t.Run(ct, func(t *testing.T) {
			h := newHarness(t, "")
			h.target.set(http.StatusOK, ct, omBody)
			ts := h.scrape(1)
			if v := valueAt(t, h.store, h.lbl("up"), ts); v != 1 {
				t.Fatalf("up = %v, LastError %q", v, h.mgrTargetStatus().LastError)
			}
			if v := valueAt(t, h.store, h.lbl("requests_total", "path", "/"), ts); v != 10 {
				t.Fatalf("requests_total = %v", v)
			}
			if v := valueAt(t, h.store, h.lbl("temp"), ts); v != 21.5 {
				t.Fatalf("temp = %v", v)
			}
			// _created lines become start timestamps, not series.
			if names := metricNames(t, h.store); slices.Contains(names, "requests_created") {
				t.Fatalf("requests_created ingested as a series: %v", names)
			}
			if v := valueAt(t, h.store, h.lbl("scrape_samples_scraped"), ts); v != 2 {
				t.Fatalf("scrape_samples_scraped = %v, want 2", v)
			}
		})
	}
}

func TestScrapeOpenMetricsWithoutEOFFails(t *testing.T) {
	h := newHarness(t, "")
	h.target.set(http.StatusOK, ctOM, "temp 21.5\n")
	ts := h.scrape(1)
	if v := valueAt(t, h.store, h.lbl("up"), ts); v != 0 {
		t.Fatalf("up = %v for OpenMetrics without # EOF", v)
	}
	if slices.Contains(metricNames(t, h.store), "temp") {
		t.Fatal("sample of a failed scrape committed")
	}
}

func TestScrapeRequestHeaders(t *testing.T) {
	h := newHarness(t, "")
	h.target.set(http.StatusOK, ctText, "m 1\n")
	h.scrape(1)
	req := h.target.lastRequest(t)

	accept := req.Header.Get("Accept")
	const want = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.7," +
		"application/openmetrics-text;version=0.0.1;q=0.6," +
		"text/plain;version=1.0.0;escaping=allow-utf-8;q=0.5," +
		"text/plain;version=0.0.4;q=0.4," +
		"*/*;q=0.3"
	if accept != want {
		t.Errorf("Accept =\n  %s\nwant\n  %s", accept, want)
	}
	// The structure, independent of the exact weights.
	parts := strings.Split(accept, ",")
	if !strings.HasPrefix(parts[0], "application/openmetrics-text;version=1.0.0") ||
		!strings.HasPrefix(parts[len(parts)-2], "text/plain;version=0.0.4") ||
		!strings.HasPrefix(parts[len(parts)-1], "*/*;") {
		t.Errorf("Accept order wrong: %v", parts)
	}
	lastQ := 2.0
	for _, p := range parts {
		var q float64
		_, qs, _ := strings.Cut(p, ";q=")
		if _, err := fmt.Sscan(qs, &q); err != nil || q >= lastQ || q <= 0 {
			t.Errorf("q-weights not strictly decreasing: %v", parts)
			break
		}
		lastQ = q
	}

	if got := req.Header.Get("Accept-Encoding"); got != "gzip" {
		t.Errorf("Accept-Encoding = %q, want gzip (enable_compression defaults to true)", got)
	}
	if got := req.Header.Get("User-Agent"); got != "Graft" {
		t.Errorf("User-Agent = %q, want the manager's default", got)
	}
	if got := req.Header.Get("X-Prometheus-Scrape-Timeout-Seconds"); got != "0.1" {
		t.Errorf("X-Prometheus-Scrape-Timeout-Seconds = %q, want 0.1", got)
	}
	if req.Path != "/metrics" {
		t.Errorf("path = %q", req.Path)
	}
}

func TestScrapeProtocolsConfigured(t *testing.T) {
	h := newHarness(t, "scrape_protocols: [PrometheusText0.0.4]\nenable_compression: false")
	h.target.set(http.StatusOK, ctText, "m 1\n")
	h.scrape(1)
	req := h.target.lastRequest(t)
	if got, want := req.Header.Get("Accept"), "text/plain;version=0.0.4;q=0.7,*/*;q=0.6"; got != want {
		t.Errorf("Accept = %q, want %q", got, want)
	}
	if got := req.Header.Get("Accept-Encoding"); got != "identity" {
		t.Errorf("Accept-Encoding = %q, want identity", got)
	}
}

func TestScrapeContentTypeFallback(t *testing.T) {
	for _, ct := range []string{noContentType, "", "application/json", "text/html; charset=utf-8", "garbage"} {
		t.Run(fmt.Sprintf("%q", ct), func(t *testing.T) {
			h := newHarness(t, "")
			h.target.set(http.StatusOK, ct, "a_metric{x=\"1\"} 5\nb_metric 6\n")
			ts := h.scrape(1)
			if v := valueAt(t, h.store, h.lbl("up"), ts); v != 1 {
				t.Fatalf("up = %v: %s", v, h.mgrTargetStatus().LastError)
			}
			if v := valueAt(t, h.store, h.lbl("a_metric", "x", "1"), ts); v != 5 {
				t.Fatalf("a_metric = %v", v)
			}
			if v := valueAt(t, h.store, h.lbl("b_metric"), ts); v != 6 {
				t.Fatalf("b_metric = %v", v)
			}
		})
	}
}

func TestScrapeFallbackProtocolConfigured(t *testing.T) {
	h := newHarness(t, "fallback_scrape_protocol: OpenMetricsText1.0.0")
	h.target.set(http.StatusOK, noContentType, omBody)
	ts := h.scrape(1)
	if v := valueAt(t, h.store, h.lbl("up"), ts); v != 1 {
		t.Fatalf("up = %v: %s", v, h.mgrTargetStatus().LastError)
	}
	if v := valueAt(t, h.store, h.lbl("temp"), ts); v != 21.5 {
		t.Fatalf("temp = %v", v)
	}
}

func TestScrapeFailures(t *testing.T) {
	for _, tc := range []struct {
		name    string
		setup   func(tt *testTarget)
		errText string
	}{
		{"status 500", func(tt *testTarget) {
			tt.status, tt.body = http.StatusInternalServerError, "ok_new 1\n"
		}, "500"},
		{"status 404", func(tt *testTarget) {
			tt.status, tt.body = http.StatusNotFound, "ok_new 1\n"
		}, "404"},
		{"malformed text", func(tt *testTarget) {
			tt.body = "ok_new 1\na 1\nbroken{a=\"1\" 2\n"
		}, "parse"},
		{"bad value", func(tt *testTarget) {
			tt.body = "ok_new 1\nbroken notanumber\n"
		}, "parse"},
		{"timeout", func(tt *testTarget) { tt.block = true }, "timed out"},
		{"corrupt gzip", func(tt *testTarget) {
			tt.body, tt.corruptGzip = "ok_new 1\n", true
		}, "gzip"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, "")
			a, b := h.lbl("a"), h.lbl("b", "x", "y")
			h.target.set(http.StatusOK, ctText, "a 1\nb{x=\"y\"} 2\n")
			ts1 := h.scrape(1)
			if v := valueAt(t, h.store, h.lbl("up"), ts1); v != 1 {
				t.Fatalf("first scrape up = %v", v)
			}

			h.target.update(tc.setup)
			start := time.Now()
			ts2 := h.scrape(2)
			if tc.name == "timeout" {
				if el := time.Since(start); el > 5*time.Second {
					t.Fatalf("timed-out scrape took %s", el)
				}
			}

			rep := h.report(ts2)
			if rep["up"] != 0 {
				t.Fatalf("up = %v after %s", rep["up"], tc.name)
			}
			// Series of a failed scrape are not added; what was parsed before
			// the failure is still counted, as Prometheus reports it.
			if rep["scrape_series_added"] != 0 || rep["scrape_samples_post_metric_relabeling"] != rep["scrape_samples_scraped"] {
				t.Errorf("report after failure = %v", rep)
			}
			st := h.mgrTargetStatus()
			if st.Health != HealthBad || !strings.Contains(st.LastError, tc.errText) {
				t.Fatalf("status = %q %q, want down with %q", st.Health, st.LastError, tc.errText)
			}
			// Nothing of the bad body is committed.
			if names := metricNames(t, h.store); slices.Contains(names, "ok_new") {
				t.Fatalf("sample from a failed scrape committed: %v", names)
			}
			if pts := samplesOf(t, h.store, a); len(pts) != 2 || pts[0].V != 1 {
				t.Fatalf("a = %v", pts)
			}
			// The series of the last good scrape end with stale markers.
			for _, l := range []labels.Labels{a, b} {
				if !isStaleAt(t, h.store, l, ts2) {
					t.Errorf("%s not stale at failed scrape: %v", l, samplesOf(t, h.store, l))
				}
			}

			// Recovery: the series come back and count as added again.
			h.target.update(func(tt *testTarget) {
				tt.status, tt.contentType, tt.body, tt.block, tt.corruptGzip = http.StatusOK, ctText, "a 3\nb{x=\"y\"} 4\n", false, false
			})
			ts3 := h.scrape(3)
			rep = h.report(ts3)
			if rep["up"] != 1 || rep["scrape_series_added"] != 2 {
				t.Fatalf("report after recovery = %v", rep)
			}
			if v := valueAt(t, h.store, a, ts3); v != 3 {
				t.Fatalf("a after recovery = %v", v)
			}
			if st := h.mgrTargetStatus(); st.Health != HealthGood || st.LastError != "" {
				t.Fatalf("status after recovery = %+v", st)
			}
		})
	}
}

func TestScrapeConnectionRefused(t *testing.T) {
	h := newHarness(t, "")
	h.target.srv.Close()
	ts := h.scrape(1)
	if v := valueAt(t, h.store, h.lbl("up"), ts); v != 0 {
		t.Fatalf("up = %v", v)
	}
	if st := h.mgrTargetStatus(); st.Health != HealthBad || st.LastError == "" {
		t.Fatalf("status = %+v", st)
	}
}

func TestStaleMarkerWhenSeriesDisappears(t *testing.T) {
	h := newHarness(t, "")
	a, b := h.lbl("a"), h.lbl("b")
	h.target.set(http.StatusOK, ctText, "a 1\nb 2\n")
	h.scrape(1)
	h.target.set(http.StatusOK, ctText, "a 3\n")
	ts2 := h.scrape(2)

	if v := valueAt(t, h.store, a, ts2); v != 3 {
		t.Fatalf("a = %v", v)
	}
	if !isStaleAt(t, h.store, b, ts2) {
		t.Fatalf("b not stale at next scrape: %v", samplesOf(t, h.store, b))
	}
	if v := valueAt(t, h.store, h.lbl("up"), ts2); v != 1 {
		t.Fatalf("up = %v", v)
	}
	// A stale marker is written once, not at every later scrape.
	ts3 := h.scrape(3)
	if pts := samplesOf(t, h.store, b); len(pts) != 2 {
		t.Fatalf("b = %v, want one sample and one stale marker", pts)
	}
	// The report series are never marked stale while the target lives.
	if isStaleAt(t, h.store, h.lbl("up"), ts3) {
		t.Fatal("up marked stale")
	}

	h.target.set(http.StatusOK, ctText, "a 4\nb 5\n")
	ts4 := h.scrape(4)
	if v := valueAt(t, h.store, b, ts4); v != 5 {
		t.Fatalf("b after reappearing = %v", v)
	}
	if v := valueAt(t, h.store, h.lbl("scrape_series_added"), ts4); v != 1 {
		t.Fatalf("scrape_series_added = %v, want 1", v)
	}
}

func TestHonorLabels(t *testing.T) {
	body := "m{job=\"exp\",instance=\"x\",env=\"dev\",exported_env=\"already\",other=\"o\"} 1\n"
	for _, tc := range []struct {
		honor bool
		want  func(h *harness) labels.Labels
	}{
		{false, func(h *harness) labels.Labels {
			return labels.FromStrings("__name__", "m",
				"job", "test", "exported_job", "exp",
				"instance", h.target.host(), "exported_instance", "x",
				"env", "prod", "exported_env", "already", "exported_exported_env", "dev",
				"other", "o")
		}},
		{true, func(*harness) labels.Labels {
			return labels.FromStrings("__name__", "m", "job", "exp", "instance", "x",
				"env", "dev", "exported_env", "already", "other", "o")
		}},
	} {
		t.Run(fmt.Sprint("honor_labels=", tc.honor), func(t *testing.T) {
			tt := newTestTarget(t)
			yml := fmt.Sprintf(`scrape_configs:
  - job_name: test
    scrape_interval: 100ms
    scrape_timeout: 100ms
    honor_labels: %v
    static_configs:
      - targets: [%q]
        labels:
          env: prod
`, tc.honor, tt.host())
			st := memstore.New()
			m := NewManager(st, Options{})
			h := &harness{t: t, store: st, target: tt, mgr: m, loop: oneLoop(t, m, loadScrapeConfigs(t, yml)[0]), base: time.Now().Add(-time.Hour).Truncate(time.Second)}
			tt.set(http.StatusOK, ctText, body)
			ts := h.scrape(1)
			want := tc.want(h)
			got := dump(t, st)
			if pts := got[want.String()]; len(pts) != 1 || pts[0] != (pt{ts, 1}) {
				t.Fatalf("want series %s, have %v", want, keysOf(got))
			}
			// Report series always carry the target's labels.
			up := labels.FromStrings("__name__", "up", "job", "test", "instance", tt.host(), "env", "prod")
			if v := valueAt(t, st, up, ts); v != 1 {
				t.Fatalf("up = %v", v)
			}
		})
	}
}

func TestHonorTimestamps(t *testing.T) {
	const explicit = int64(1_000_000)
	body := fmt.Sprintf("with_ts 5 %d\nplain 6\n", explicit)
	for _, tc := range []struct {
		extra        string
		wantTS       func(scrapeTS int64) int64
		staleWithTS  bool
		explicitUsed bool
	}{
		{"", nil, false, true}, // honor_timestamps defaults to true
		{"honor_timestamps: false", nil, true, false},
		{"track_timestamps_staleness: true", nil, true, true},
	} {
		t.Run(tc.extra, func(t *testing.T) {
			h := newHarness(t, tc.extra)
			h.target.set(http.StatusOK, ctText, body)
			ts1 := h.scrape(1)
			withTS := samplesOf(t, h.store, h.lbl("with_ts"))
			wantT := ts1
			if tc.explicitUsed {
				wantT = explicit
			}
			if len(withTS) != 1 || withTS[0] != (pt{wantT, 5}) {
				t.Fatalf("with_ts = %v, want 5@%d", withTS, wantT)
			}
			if v := valueAt(t, h.store, h.lbl("plain"), ts1); v != 6 {
				t.Fatalf("plain = %v", v)
			}

			// Both disappear: plain always gets a stale marker; the
			// timestamped series only when its timestamps are ignored or
			// staleness tracking is asked for.
			h.target.set(http.StatusOK, ctText, "other 1\n")
			ts2 := h.scrape(2)
			if !isStaleAt(t, h.store, h.lbl("plain"), ts2) {
				t.Fatal("plain not stale")
			}
			if got := isStaleAt(t, h.store, h.lbl("with_ts"), ts2); got != tc.staleWithTS {
				t.Fatalf("with_ts stale = %v, want %v (%v)", got, tc.staleWithTS, samplesOf(t, h.store, h.lbl("with_ts")))
			}
		})
	}
}

func TestMetricRelabelConfigs(t *testing.T) {
	h := newHarness(t, `metric_relabel_configs:
  - source_labels: [__name__]
    regex: "drop_me.*"
    action: drop
  - regex: "tmp_.*"
    action: labeldrop
  - source_labels: [__name__, code]
    separator: ";"
    regex: "requests;(.*)"
    target_label: status
    replacement: "s$1"`)
	h.target.set(http.StatusOK, ctText, "keep{tmp_x=\"1\",a=\"2\"} 1\ndrop_me_total 2\nrequests{code=\"200\",tmp_y=\"z\"} 3\n")
	ts := h.scrape(1)

	got := dump(t, h.store)
	if names := metricNames(t, h.store); slices.Contains(names, "drop_me_total") {
		t.Fatalf("dropped series stored: %v", names)
	}
	for _, want := range []labels.Labels{h.lbl("keep", "a", "2"), h.lbl("requests", "code", "200", "status", "s200")} {
		if pts := got[want.String()]; len(pts) != 1 || pts[0].T != ts {
			t.Fatalf("missing %s; have %v", want, keysOf(got))
		}
	}
	for k := range got {
		if strings.Contains(k, "tmp_") {
			t.Fatalf("labeldrop left %s", k)
		}
	}
	rep := h.report(ts)
	if rep["scrape_samples_scraped"] != 3 || rep["scrape_samples_post_metric_relabeling"] != 2 {
		t.Fatalf("report = %v", rep)
	}
	// Prometheus does not count series dropped by relabeling as added.
	if rep["scrape_series_added"] != 2 {
		t.Fatalf("scrape_series_added = %v, want 2", rep["scrape_series_added"])
	}
	// Dropped series never get stale markers (they were never stored).
	h.target.set(http.StatusOK, ctText, "keep{tmp_x=\"1\",a=\"2\"} 1\n")
	h.scrape(2)
	if names := metricNames(t, h.store); slices.Contains(names, "drop_me_total") {
		t.Fatalf("stale marker written for a dropped series: %v", names)
	}
}

func TestSampleLimit(t *testing.T) {
	h := newHarness(t, "sample_limit: 2")
	h.target.set(http.StatusOK, ctText, "a 1\nb 2\n")
	ts1 := h.scrape(1)
	if v := valueAt(t, h.store, h.lbl("up"), ts1); v != 1 {
		t.Fatalf("at the limit: up = %v (%s)", v, h.mgrTargetStatus().LastError)
	}
	h.target.set(http.StatusOK, ctText, "a 1\nb 2\nc 3\n")
	ts2 := h.scrape(2)
	if v := valueAt(t, h.store, h.lbl("up"), ts2); v != 0 {
		t.Fatalf("over the limit: up = %v", v)
	}
	if st := h.mgrTargetStatus(); !strings.Contains(st.LastError, "sample limit") {
		t.Fatalf("LastError = %q", st.LastError)
	}
	if slices.Contains(metricNames(t, h.store), "c") {
		t.Fatal("samples of a scrape over the limit committed")
	}
	if !isStaleAt(t, h.store, h.lbl("a"), ts2) {
		t.Fatal("previous series not stale after a limit failure")
	}
	// The report says by how much the limit was exceeded.
	if rep := h.report(ts2); rep["scrape_samples_scraped"] != 3 || rep["scrape_samples_post_metric_relabeling"] != 3 {
		t.Errorf("report over the limit = %v, want 3 samples scraped", rep)
	}
}

func TestSampleLimitCountsAfterRelabeling(t *testing.T) {
	h := newHarness(t, `sample_limit: 2
metric_relabel_configs:
  - source_labels: [__name__]
    regex: c
    action: drop`)
	h.target.set(http.StatusOK, ctText, "a 1\nb 2\nc 3\n")
	ts := h.scrape(1)
	if v := valueAt(t, h.store, h.lbl("up"), ts); v != 1 {
		t.Fatalf("up = %v (%s)", v, h.mgrTargetStatus().LastError)
	}
}

func TestLabelLimits(t *testing.T) {
	for _, tc := range []struct {
		extra, okBody, badBody string
	}{
		// job, instance and __name__ count too.
		{"label_limit: 5", "m{a=\"1\",b=\"2\"} 1\n", "m{a=\"1\",b=\"2\",c=\"3\"} 1\n"},
		{"label_name_length_limit: 8", "m{abcdefgh=\"1\"} 1\n", "m{abcdefghi=\"1\"} 1\n"},
		// Every value counts, the instance (127.0.0.1:port) and __name__ too.
		{"label_value_length_limit: 20", "m{a=\"" + strings.Repeat("v", 20) + "\"} 1\n", "m{a=\"" + strings.Repeat("v", 21) + "\"} 1\n"},
	} {
		t.Run(tc.extra, func(t *testing.T) {
			h := newHarness(t, tc.extra)
			h.target.set(http.StatusOK, ctText, "first 1\n"+tc.okBody)
			ts1 := h.scrape(1)
			if v := valueAt(t, h.store, h.lbl("up"), ts1); v != 1 {
				t.Fatalf("within limits: up = %v (%s)", v, h.mgrTargetStatus().LastError)
			}
			h.target.set(http.StatusOK, ctText, "fresh 1\n"+tc.badBody)
			ts2 := h.scrape(2)
			if v := valueAt(t, h.store, h.lbl("up"), ts2); v != 0 {
				t.Fatalf("over limits: up = %v", v)
			}
			if st := h.mgrTargetStatus(); !strings.Contains(st.LastError, "label") {
				t.Fatalf("LastError = %q", st.LastError)
			}
			if slices.Contains(metricNames(t, h.store), "fresh") {
				t.Fatal("samples of a failed scrape committed")
			}
		})
	}
}

func TestBodySizeLimit(t *testing.T) {
	line := "m 1\n"
	pad := "# " + strings.Repeat("x", 100-len(line)-3) + "\n"
	exact := pad + line
	if len(exact) != 100 {
		t.Fatalf("fixture is %d bytes", len(exact))
	}

	h := newHarness(t, "body_size_limit: 100B")
	h.target.set(http.StatusOK, ctText, exact)
	ts1 := h.scrape(1)
	if v := valueAt(t, h.store, h.lbl("up"), ts1); v != 1 {
		t.Fatalf("body at the limit: up = %v (%s)", v, h.mgrTargetStatus().LastError)
	}
	h.target.set(http.StatusOK, ctText, " "+exact)
	ts2 := h.scrape(2)
	if v := valueAt(t, h.store, h.lbl("up"), ts2); v != 0 {
		t.Fatal("body over the limit accepted")
	}
	if st := h.mgrTargetStatus(); !strings.Contains(st.LastError, "body size limit") {
		t.Fatalf("LastError = %q", st.LastError)
	}

	// The limit applies to the decompressed body: a small gzip of a big
	// body fails too.
	h.target.update(func(tt *testTarget) {
		tt.body = "m 1\n" + strings.Repeat("#\n", 500)
		tt.gzipIfAsked = true
	})
	ts3 := h.scrape(3)
	if v := valueAt(t, h.store, h.lbl("up"), ts3); v != 0 {
		t.Fatal("gzip body over the limit once decompressed accepted")
	}
}

func TestCompression(t *testing.T) {
	t.Run("enabled", func(t *testing.T) {
		h := newHarness(t, "enable_compression: true")
		h.target.update(func(tt *testTarget) { tt.gzipIfAsked, tt.body = true, "zipped 42\n" })
		ts := h.scrape(1)
		if got := h.target.lastRequest(t).Header.Get("Accept-Encoding"); got != "gzip" {
			t.Fatalf("Accept-Encoding = %q", got)
		}
		if v := valueAt(t, h.store, h.lbl("zipped"), ts); v != 42 {
			t.Fatalf("zipped = %v", v)
		}
	})
	t.Run("disabled", func(t *testing.T) {
		h := newHarness(t, "enable_compression: false")
		h.target.update(func(tt *testTarget) { tt.gzipIfAsked, tt.body = true, "plain 7\n" })
		ts := h.scrape(1)
		if got := h.target.lastRequest(t).Header.Get("Accept-Encoding"); got != "identity" {
			t.Fatalf("Accept-Encoding = %q", got)
		}
		if v := valueAt(t, h.store, h.lbl("plain"), ts); v != 7 {
			t.Fatalf("plain = %v", v)
		}
	})
	t.Run("gzip sent unasked", func(t *testing.T) {
		h := newHarness(t, "enable_compression: false")
		h.target.update(func(tt *testTarget) { tt.gzipAlways, tt.body = true, "forced 8\n" })
		ts := h.scrape(1)
		if v := valueAt(t, h.store, h.lbl("forced"), ts); v != 8 {
			t.Fatalf("forced = %v", v)
		}
	})
}

// Samples the storage refuses are counted but do not fail the scrape.
func TestOutOfOrderSamplesDoNotFailScrape(t *testing.T) {
	h := newHarness(t, "")
	reg := prometheus.NewRegistry()
	h.loop.metrics = newMetrics(reg)
	h.target.set(http.StatusOK, ctText, "m 1 5000\np 1 6000\nn 1\n")
	h.scrape(1)
	// Same explicit timestamp, other value: a duplicate; an older one: out of order.
	h.target.set(http.StatusOK, ctText, "m 2 5000\np 1 3000\nn 2\n")
	ts2 := h.scrape(2)
	if v := valueAt(t, h.store, h.lbl("up"), ts2); v != 1 {
		t.Fatalf("up = %v (%s)", v, h.mgrTargetStatus().LastError)
	}
	if pts := samplesOf(t, h.store, h.lbl("m")); len(pts) != 1 || pts[0].V != 1 {
		t.Fatalf("m = %v", pts)
	}
	if got := testutil.ToFloat64(h.loop.metrics.rejected.WithLabelValues("test", "duplicate")); got != 1 {
		t.Fatalf("duplicate rejections = %v", got)
	}
	if got := testutil.ToFloat64(h.loop.metrics.rejected.WithLabelValues("test", "out_of_order")); got != 1 {
		t.Fatalf("out of order rejections = %v", got)
	}
	if v := valueAt(t, h.store, h.lbl("n"), ts2); v != 2 {
		t.Fatalf("n = %v", v)
	}
	if got := testutil.ToFloat64(h.loop.metrics.scrapes.WithLabelValues("test")); got != 2 {
		t.Fatalf("graft_scrapes_total = %v", got)
	}
	if got := testutil.ToFloat64(h.loop.metrics.failures.WithLabelValues("test")); got != 0 {
		t.Fatalf("graft_scrape_failures_total = %v", got)
	}
}

func TestReportSeriesLabels(t *testing.T) {
	h := newHarness(t, "")
	h.target.set(http.StatusOK, ctText, "m 1\n")
	ts := h.scrape(1)
	got := dump(t, h.store)
	for _, n := range reportNames {
		want := labels.FromStrings("__name__", n, "job", "test", "instance", h.target.host())
		if pts := got[want.String()]; len(pts) != 1 || pts[0].T != ts {
			t.Errorf("report series %s: %v (have %v)", want, pts, keysOf(got))
		}
	}
}

// An empty exposition is a successful scrape that ends every series.
func TestEmptyBody(t *testing.T) {
	h := newHarness(t, "")
	h.target.set(http.StatusOK, ctText, "a 1\n")
	h.scrape(1)
	h.target.set(http.StatusOK, ctText, "")
	ts2 := h.scrape(2)
	rep := h.report(ts2)
	if rep["up"] != 1 || rep["scrape_samples_scraped"] != 0 || rep["scrape_series_added"] != 0 {
		t.Fatalf("report = %v", rep)
	}
	if !isStaleAt(t, h.store, h.lbl("a"), ts2) {
		t.Fatal("series of the previous scrape not stale")
	}
}
