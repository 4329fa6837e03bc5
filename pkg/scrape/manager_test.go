package scrape

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/graftlabs/graft/pkg/storage/memstore"
)

const waitFor = 10 * time.Second

func upLabels(job string, tt *testTarget) labels.Labels {
	return labels.FromStrings("__name__", "up", "job", job, "instance", tt.host())
}

// countFinite counts the non-stale samples of lset.
func countFinite(t testing.TB, st *memstore.Store, lset labels.Labels) int {
	t.Helper()
	n := 0
	for _, p := range samplesOf(t, st, lset) {
		if !value.IsStaleNaN(p.V) {
			n++
		}
	}
	return n
}

func lastSample(t testing.TB, st *memstore.Store, lset labels.Labels) (pt, bool) {
	t.Helper()
	pts := samplesOf(t, st, lset)
	if len(pts) == 0 {
		return pt{}, false
	}
	return pts[len(pts)-1], true
}

// waitScrapes waits until lset has at least n more non-stale samples than it
// had when called.
func waitScrapes(t testing.TB, st *memstore.Store, lset labels.Labels, n int) {
	t.Helper()
	start := countFinite(t, st, lset)
	eventually(t, waitFor, "scrapes of "+lset.String(), func() bool {
		return countFinite(t, st, lset) >= start+n
	})
}

func (m *Manager) poolOf(job string) *pool {
	m.mtx.Lock()
	defer m.mtx.Unlock()
	return m.pools[job]
}

func onlyLoopOf(t testing.TB, p *pool) *loop {
	t.Helper()
	if p == nil || len(p.loops) != 1 {
		t.Fatalf("pool %v does not have exactly one loop", p)
	}
	for _, l := range p.loops {
		return l
	}
	return nil
}

func TestManagerScrapesTargets(t *testing.T) {
	t1, t2 := newTestTarget(t), newTestTarget(t)
	t1.set(http.StatusOK, ctText, "m{t=\"1\"} 1\n")
	t2.set(http.StatusInternalServerError, ctText, "")
	st := memstore.New()
	reg := prometheus.NewRegistry()
	m := NewManager(st, Options{Registerer: reg, UserAgent: "Graft/test"})
	t.Cleanup(m.Stop)

	if err := m.ApplyConfig(loadScrapeConfigs(t, scrapeConfigsYAML(jobYAML("job", "", t1.host(), t2.host())))); err != nil {
		t.Fatal(err)
	}
	waitScrapes(t, st, upLabels("job", t1), 3)
	waitScrapes(t, st, upLabels("job", t2), 1)

	pts := samplesOf(t, st, upLabels("job", t1))
	for i := 1; i < len(pts); i++ {
		if pts[i].T <= pts[i-1].T {
			t.Fatalf("up timestamps not increasing: %v", pts)
		}
	}
	for _, p := range samplesOf(t, st, labels.FromStrings("__name__", "scrape_duration_seconds", "job", "job", "instance", t1.host())) {
		if p.V < 0 || p.V > 1 {
			t.Fatalf("scrape_duration_seconds = %v", p.V)
		}
	}
	if p, _ := lastSample(t, st, upLabels("job", t2)); p.V != 0 {
		t.Fatalf("up of failing target = %v", p)
	}
	if ua := t1.lastRequest(t).Header.Get("User-Agent"); ua != "Graft/test" {
		t.Fatalf("User-Agent = %q", ua)
	}

	eventually(t, waitFor, "target health", func() bool {
		ts := m.Targets()
		return len(ts) == 2 && ts[0].Health != HealthUnknown && ts[1].Health != HealthUnknown
	})
	if ts := m.Targets(); ts[0].ScrapeURL >= ts[1].ScrapeURL {
		t.Errorf("Targets not sorted by URL: %s, %s", ts[0].ScrapeURL, ts[1].ScrapeURL)
	}
	for _, s := range m.Targets() {
		switch s.ScrapeURL {
		case t1.srv.URL + "/metrics":
			if s.Health != HealthGood || s.LastError != "" || s.LastScrape.IsZero() || s.Job != "job" {
				t.Errorf("healthy target = %+v", s)
			}
		case t2.srv.URL + "/metrics":
			if s.Health != HealthBad || !strings.Contains(s.LastError, "500") {
				t.Errorf("failing target = %+v", s)
			}
		default:
			t.Errorf("unexpected target %+v", s)
		}
	}

	if got := testutil.ToFloat64(m.metrics.failures.WithLabelValues("job")); got < 1 {
		t.Errorf("graft_scrape_failures_total = %v", got)
	}
	if n, err := testutil.GatherAndCount(reg, "graft_scrapes_total"); err != nil || n != 1 {
		t.Errorf("graft_scrapes_total registered: %d %v", n, err)
	}

	// Stop ends the loops without stale markers: the targets did not go away.
	loops := m.poolOf("job").loops
	m.Stop()
	if p, _ := lastSample(t, st, upLabels("job", t1)); value.IsStaleNaN(p.V) {
		t.Fatal("Stop wrote stale markers")
	}
	if len(m.Targets()) != 0 {
		t.Fatalf("targets after Stop: %v", m.Targets())
	}
	// Stop waits for every loop goroutine to end.
	for _, l := range loops {
		select {
		case <-l.done:
		default:
			t.Fatal("Stop returned with a loop still running")
		}
	}
}

func TestApplyConfigKeepsUnchangedJobs(t *testing.T) {
	ta, tb1, tb2 := newTestTarget(t), newTestTarget(t), newTestTarget(t)
	ta.set(http.StatusOK, ctText, "a_metric 1\n")
	tb1.set(http.StatusOK, ctText, "b_metric 1\n")
	tb2.set(http.StatusOK, ctText, "b_metric 2\n")
	st := memstore.New()
	m := NewManager(st, Options{})
	t.Cleanup(m.Stop)

	// Relabeling rules hold compiled regexps: an identical job must still
	// compare equal when loaded again.
	jobA := jobYAML("a", `metric_relabel_configs:
  - regex: "tmp_.*"
    action: labeldrop
params:
  x: [y]`, ta.host())
	yml := scrapeConfigsYAML(jobA, jobYAML("b", "", tb1.host(), tb2.host()))
	if err := m.ApplyConfig(loadScrapeConfigs(t, yml)); err != nil {
		t.Fatal(err)
	}
	bMetric := func(tt *testTarget) labels.Labels {
		return labels.FromStrings("__name__", "b_metric", "job", "b", "instance", tt.host())
	}
	waitScrapes(t, st, upLabels("a", ta), 1)
	waitScrapes(t, st, bMetric(tb1), 1)
	waitScrapes(t, st, bMetric(tb2), 1)
	poolA, poolB := m.poolOf("a"), m.poolOf("b")
	loopA := onlyLoopOf(t, poolA)

	// The same file loaded again: nothing restarts.
	if err := m.ApplyConfig(loadScrapeConfigs(t, yml)); err != nil {
		t.Fatal(err)
	}
	if m.poolOf("a") != poolA || m.poolOf("b") != poolB || onlyLoopOf(t, m.poolOf("a")) != loopA {
		t.Fatal("an unchanged job was rebuilt")
	}
	select {
	case <-loopA.done:
		t.Fatal("loop of an unchanged job stopped")
	default:
	}

	// Job b changes (one target less, a new limit): a stays, b is rebuilt,
	// the kept target keeps its series cache and gets no stale markers, the
	// removed target's series end.
	var oldCache *seriesCache
	for key, l := range poolB.loops {
		if strings.Contains(key, tb1.host()) {
			oldCache = l.cache
		}
	}
	yml2 := scrapeConfigsYAML(jobA, jobYAML("b", "sample_limit: 100", tb1.host()))
	if err := m.ApplyConfig(loadScrapeConfigs(t, yml2)); err != nil {
		t.Fatal(err)
	}
	if m.poolOf("a") != poolA {
		t.Fatal("job a rebuilt when only b changed")
	}
	newB := m.poolOf("b")
	if newB == poolB {
		t.Fatal("changed job b not rebuilt")
	}
	if l := onlyLoopOf(t, newB); l.cache != oldCache {
		t.Fatal("series cache of a kept target not handed over")
	}
	// stop() of the old loops is synchronous: the markers are there now.
	if p, ok := lastSample(t, st, bMetric(tb2)); !ok || !value.IsStaleNaN(p.V) {
		t.Fatalf("series of a target removed from a changed job not stale: %v", samplesOf(t, st, bMetric(tb2)))
	}
	if p, _ := lastSample(t, st, upLabels("b", tb2)); !value.IsStaleNaN(p.V) {
		t.Fatalf("up of a removed target not stale: %v", p)
	}
	waitScrapes(t, st, bMetric(tb1), 2)
	for _, p := range samplesOf(t, st, bMetric(tb1)) {
		if value.IsStaleNaN(p.V) {
			t.Fatalf("kept target marked stale by a config change: %v", samplesOf(t, st, bMetric(tb1)))
		}
	}

	// Job b removed: every one of its series ends, a keeps running.
	if err := m.ApplyConfig(loadScrapeConfigs(t, scrapeConfigsYAML(jobA))); err != nil {
		t.Fatal(err)
	}
	for _, l := range []labels.Labels{
		bMetric(tb1), upLabels("b", tb1),
		labels.FromStrings("__name__", "scrape_series_added", "job", "b", "instance", tb1.host()),
	} {
		if p, ok := lastSample(t, st, l); !ok || !value.IsStaleNaN(p.V) {
			t.Errorf("series of a removed job not stale: %s %v", l, samplesOf(t, st, l))
		}
	}
	if m.poolOf("b") != nil || m.poolOf("a") != poolA {
		t.Fatal("pools after removing b are wrong")
	}
	for _, l := range newB.loops {
		select {
		case <-l.done:
		default:
			t.Fatal("loop of a removed job still running after ApplyConfig")
		}
	}
	n := len(tb1.requests())
	waitScrapes(t, st, upLabels("a", ta), 2)
	if len(tb1.requests()) != n {
		t.Fatal("removed job still scraping")
	}
	if ts := m.Targets(); len(ts) != 1 || ts[0].Job != "a" {
		t.Fatalf("Targets = %+v", ts)
	}
}

func TestApplyConfigRefusesBadJob(t *testing.T) {
	ta := newTestTarget(t)
	ta.set(http.StatusOK, ctText, "a_metric 1\n")
	st := memstore.New()
	m := NewManager(st, Options{})
	t.Cleanup(m.Stop)
	jobA := jobYAML("a", "", ta.host())
	if err := m.ApplyConfig(loadScrapeConfigs(t, scrapeConfigsYAML(jobA))); err != nil {
		t.Fatal(err)
	}
	waitScrapes(t, st, upLabels("a", ta), 1)
	poolA := m.poolOf("a")
	loopA := onlyLoopOf(t, poolA)

	badClient := jobYAML("c", "tls_config:\n  ca_file: /nonexistent/graft-test-ca.pem", "127.0.0.1:1")
	tooMany := jobYAML("d", "target_limit: 2", "127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3")
	for _, tc := range []struct {
		name, yml, errText string
	}{
		{"bad http client", scrapeConfigsYAML(jobA, badClient), "http client"},
		// a changes too: the refused config must not rebuild it either.
		{"bad http client with a changed job", scrapeConfigsYAML(jobYAML("a", "sample_limit: 5", ta.host()), badClient), `"c"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := m.ApplyConfig(loadScrapeConfigs(t, tc.yml))
			if err == nil || !strings.Contains(err.Error(), tc.errText) {
				t.Fatalf("ApplyConfig err = %v, want it to mention %s", err, tc.errText)
			}
			if m.poolOf("a") != poolA || onlyLoopOf(t, m.poolOf("a")) != loopA {
				t.Fatal("previous pool replaced by a refused config")
			}
			if m.poolOf("c") != nil || m.poolOf("d") != nil {
				t.Fatal("refused job installed")
			}
			select {
			case <-loopA.done:
				t.Fatal("previous loop stopped by a refused config")
			default:
			}
			waitScrapes(t, st, upLabels("a", ta), 2)
			if p, _ := lastSample(t, st, upLabels("a", ta)); value.IsStaleNaN(p.V) || p.V != 1 {
				t.Fatalf("up of a = %v", p)
			}
			if ts := m.Targets(); len(ts) != 1 || ts[0].Job != "a" {
				t.Fatalf("Targets = %+v", ts)
			}
		})
	}

	// Over the limit, the job is installed but its targets fail unscraped.
	if err := m.ApplyConfig(loadScrapeConfigs(t, scrapeConfigsYAML(jobA, tooMany))); err != nil {
		t.Fatalf("target_limit refused the whole config: %v", err)
	}
	eventually(t, 10*time.Second, "targets of d down", func() bool {
		down := 0
		for _, ts := range m.Targets() {
			if ts.Job == "d" && ts.Health == HealthBad && strings.Contains(ts.LastError, "target_limit exceeded (number of targets: 3, limit: 2)") {
				down++
			}
		}
		return down == 3
	})

	// At the limit is fine.
	atLimit := jobYAML("d", "target_limit: 3", "127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3")
	if err := m.ApplyConfig(loadScrapeConfigs(t, scrapeConfigsYAML(jobA, atLimit))); err != nil {
		t.Fatalf("target_limit equal to the target count refused: %v", err)
	}
	if p := m.poolOf("d"); p == nil || len(p.loops) != 3 {
		t.Fatalf("pool d = %+v", p)
	}
}

func TestDroppedTargets(t *testing.T) {
	m := NewManager(memstore.New(), Options{})
	t.Cleanup(m.Stop)
	yml := scrapeConfigsYAML(jobYAML("a", `relabel_configs:
  - source_labels: [__address__]
    regex: '.*:2'
    action: drop`, "127.0.0.1:1", "127.0.0.1:2"))
	if err := m.ApplyConfig(loadScrapeConfigs(t, yml)); err != nil {
		t.Fatal(err)
	}
	d := m.DroppedTargets()
	// As Prometheus: the discovered labels include the job's defaults.
	if len(d) != 1 || d[0].DiscoveredLabels["__address__"] != "127.0.0.1:2" || d[0].DiscoveredLabels["job"] != "a" ||
		d[0].DiscoveredLabels["__metrics_path__"] != "/metrics" || d[0].DiscoveredLabels["__scheme__"] != "http" ||
		d[0].DiscoveredLabels["__scrape_interval__"] != "100ms" || d[0].Reason == "" {
		t.Fatalf("DroppedTargets = %+v", d)
	}
	if ts := m.Targets(); len(ts) != 1 || ts[0].ScrapeURL != "http://127.0.0.1:1/metrics" || ts[0].Health != HealthUnknown && ts[0].Health != HealthBad {
		t.Fatalf("Targets = %+v", ts)
	}
}

// The loop's first scrape comes within one interval, at a phase that only
// depends on the target.
func TestLoopOffset(t *testing.T) {
	m := NewManager(memstore.New(), Options{})
	cfgs := loadScrapeConfigs(t, scrapeConfigsYAML(jobYAML("a", "", "127.0.0.1:1", "127.0.0.1:2")))
	p, err := m.newPool(cfgs[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 123_000_000)
	for _, l := range p.loops {
		off := l.offset(now)
		if off < 0 || off >= l.target.interval {
			t.Fatalf("offset %s outside [0, %s)", off, l.target.interval)
		}
		// The phase is stable: an interval later the offset is the same.
		if off2 := l.offset(now.Add(l.target.interval)); off2 != off {
			t.Fatalf("offset moved from %s to %s", off, off2)
		}
	}
}
