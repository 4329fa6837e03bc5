package scrape

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/graftlabs/graft/pkg/config"
	"github.com/graftlabs/graft/pkg/storage"
	"github.com/graftlabs/graft/pkg/storage/memstore"
)

// noContentType makes the test target send no Content-Type header at all
// (net/http would otherwise sniff one).
const noContentType = "-"

const (
	ctText = "text/plain; version=0.0.4; charset=utf-8"
	ctOM   = "application/openmetrics-text; version=1.0.0; charset=utf-8"
)

// recordedRequest is what the target saw of one scrape.
type recordedRequest struct {
	Path   string
	Query  url.Values
	Header http.Header
}

// testTarget is an httptest server on 127.0.0.1 whose response can be
// changed between scrapes.
type testTarget struct {
	srv *httptest.Server

	mu          sync.Mutex
	status      int
	contentType string
	body        string
	gzipAlways  bool // Content-Encoding: gzip whatever was asked
	gzipIfAsked bool // gzip when the request accepts it
	corruptGzip bool // claim gzip, send plain bytes
	block       bool // hold the request until the client gives up
	reqs        []recordedRequest
}

func newTestTarget(t testing.TB) *testTarget {
	t.Helper()
	tt := &testTarget{status: http.StatusOK, contentType: ctText}
	tt.srv = httptest.NewServer(http.HandlerFunc(tt.serve))
	t.Cleanup(tt.srv.Close)
	return tt
}

func (tt *testTarget) serve(w http.ResponseWriter, r *http.Request) {
	tt.mu.Lock()
	tt.reqs = append(tt.reqs, recordedRequest{Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone()})
	status, ct, body := tt.status, tt.contentType, tt.body
	gz := tt.gzipAlways || tt.gzipIfAsked && strings.Contains(r.Header.Get("Accept-Encoding"), "gzip")
	corrupt, block := tt.corruptGzip, tt.block
	tt.mu.Unlock()

	if block {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
		return
	}
	if ct == noContentType {
		w.Header()["Content-Type"] = nil
	} else {
		w.Header().Set("Content-Type", ct)
	}
	payload := []byte(body)
	switch {
	case corrupt:
		w.Header().Set("Content-Encoding", "gzip")
	case gz:
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(payload)
		_ = zw.Close()
		payload = buf.Bytes()
		w.Header().Set("Content-Encoding", "gzip")
	}
	w.WriteHeader(status)
	_, _ = w.Write(payload)
}

func (tt *testTarget) set(status int, contentType, body string) {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	tt.status, tt.contentType, tt.body = status, contentType, body
}

func (tt *testTarget) update(f func(tt *testTarget)) {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	f(tt)
}

func (tt *testTarget) requests() []recordedRequest {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	return slices.Clone(tt.reqs)
}

func (tt *testTarget) lastRequest(t testing.TB) recordedRequest {
	t.Helper()
	reqs := tt.requests()
	if len(reqs) == 0 {
		t.Fatal("target saw no request")
	}
	return reqs[len(reqs)-1]
}

// host is the target's host:port, as it goes into static_configs.
func (tt *testTarget) host() string { return strings.TrimPrefix(tt.srv.URL, "http://") }

// loadScrapeConfigs loads graft.yml text through pkg/config, as the core does.
func loadScrapeConfigs(t testing.TB, yml string) []*promconfig.ScrapeConfig {
	t.Helper()
	c, err := config.Load([]byte(yml), t.TempDir(), nil)
	if err != nil {
		t.Fatalf("load config: %v\n%s", err, yml)
	}
	return c.ScrapeConfigs
}

// jobYAML is one scrape job at 100ms for the given targets, with extra
// job-level YAML (indented by four spaces) appended.
func jobYAML(job string, extra string, targets ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  - job_name: %s\n    scrape_interval: 100ms\n    scrape_timeout: 100ms\n", job)
	if extra != "" {
		for line := range strings.SplitSeq(strings.TrimRight(extra, "\n"), "\n") {
			b.WriteString("    " + line + "\n")
		}
	}
	b.WriteString("    static_configs:\n      - targets: [")
	for i, tg := range targets {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", tg)
	}
	b.WriteString("]\n")
	return b.String()
}

func scrapeConfigsYAML(jobs ...string) string {
	return "scrape_configs:\n" + strings.Join(jobs, "")
}

// oneLoop builds (without starting) the pool of cfg and returns its only loop.
func oneLoop(t testing.TB, m *Manager, cfg *promconfig.ScrapeConfig) *loop {
	t.Helper()
	p, err := m.newPool(cfg, nil)
	if err != nil {
		t.Fatalf("newPool: %v", err)
	}
	if len(p.loops) != 1 {
		t.Fatalf("pool has %d loops, want 1", len(p.loops))
	}
	for _, l := range p.loops {
		return l
	}
	return nil
}

// harness drives one target's loop by hand: no timers, explicit timestamps.
type harness struct {
	t      testing.TB
	store  *memstore.Store
	target *testTarget
	mgr    *Manager
	loop   *loop
	base   time.Time
}

// newHarness loads a single job scraping a fresh test target. extra is
// job-level YAML.
func newHarness(t testing.TB, extra string) *harness {
	t.Helper()
	tt := newTestTarget(t)
	cfgs := loadScrapeConfigs(t, scrapeConfigsYAML(jobYAML("test", extra, tt.host())))
	st := memstore.New()
	m := NewManager(st, Options{})
	t.Cleanup(m.Stop)
	return &harness{
		t: t, store: st, target: tt, mgr: m,
		loop: oneLoop(t, m, cfgs[0]),
		// Whole seconds in the past, so that scrapes have distinct,
		// predictable timestamps.
		base: time.Now().Add(-time.Hour).Truncate(time.Second),
	}
}

// scrape runs scrape number n (timestamp base + n seconds) and returns its
// timestamp in ms.
func (h *harness) scrape(n int) int64 {
	start := h.base.Add(time.Duration(n) * time.Second)
	h.loop.scrapeOnce(context.Background(), start)
	return start.UnixMilli()
}

// lbl returns the labels of a scraped series of this harness's target:
// kv plus job and instance.
func (h *harness) lbl(name string, kv ...string) labels.Labels {
	return labels.NewBuilder(labels.FromStrings(kv...)).
		Set("__name__", name).
		Set("job", "test").
		Set("instance", h.target.host()).
		Labels()
}

type pt struct {
	T int64
	V float64
}

func (p pt) String() string {
	if value.IsStaleNaN(p.V) {
		return fmt.Sprintf("stale@%d", p.T)
	}
	return fmt.Sprintf("%g@%d", p.V, p.T)
}

// dump reads every series of st, keyed by Labels.String().
func dump(t testing.TB, st storage.Queryable) map[string][]pt {
	t.Helper()
	q, err := st.Querier(math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	ss := q.Select(context.Background(), nil)
	out := map[string][]pt{}
	for ss.Next() {
		s := ss.At()
		it := s.Iterator(nil)
		var pts []pt
		for it.Next() == storage.ValFloat {
			ts, v := it.At()
			pts = append(pts, pt{ts, v})
		}
		out[s.Labels().String()] = pts
	}
	if err := ss.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// samplesOf returns the samples of exactly lset.
func samplesOf(t testing.TB, st storage.Queryable, lset labels.Labels) []pt {
	t.Helper()
	return dump(t, st)[lset.String()]
}

// valueAt returns the value of lset at ts, failing if there is none.
func valueAt(t testing.TB, st storage.Queryable, lset labels.Labels, ts int64) float64 {
	t.Helper()
	for _, p := range samplesOf(t, st, lset) {
		if p.T == ts {
			return p.V
		}
	}
	t.Fatalf("no sample of %s at %d; have %v", lset, ts, samplesOf(t, st, lset))
	return 0
}

func isStaleAt(t testing.TB, st storage.Queryable, lset labels.Labels, ts int64) bool {
	t.Helper()
	for _, p := range samplesOf(t, st, lset) {
		if p.T == ts {
			return value.IsStaleNaN(p.V)
		}
	}
	return false
}

// names lists the metric names present in st.
func metricNames(t testing.TB, st storage.Queryable) []string {
	t.Helper()
	q, _ := st.Querier(math.MinInt64, math.MaxInt64)
	defer q.Close()
	vals, err := q.LabelValues(context.Background(), "__name__")
	if err != nil {
		t.Fatal(err)
	}
	return vals
}

// eventually polls cond every 10ms until it holds or the deadline passes.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var reportNames = []string{"up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_samples_post_metric_relabeling", "scrape_series_added"}

// report returns the values of the five report series at ts.
func (h *harness) report(ts int64) map[string]float64 {
	h.t.Helper()
	out := map[string]float64{}
	for _, n := range reportNames {
		out[n] = valueAt(h.t, h.store, h.lbl(n), ts)
	}
	return out
}
