package core

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// Range queries of the HTTP API go through the results cache: repeated,
// they are hits; a sample added where they read shows at once; a reload
// that turns the cache off is applied.
func TestQueryRangeThroughCache(t *testing.T) {
	path := filepath.Join(t.TempDir(), "graft.yml")
	writeFile(t, path, "scrape_configs: []\n")
	c := startCore(t, path)
	start := time.Now().Add(-2 * time.Hour).Truncate(time.Minute)
	appendAt := func(l labels.Labels, ts time.Time, v float64) {
		t.Helper()
		app := c.Storage().Appender(context.Background())
		if _, err := app.Append(0, l, ts.UnixMilli(), v); err != nil {
			t.Fatal(err)
		}
		if err := app.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 60 {
		appendAt(labels.FromStrings("__name__", "m", "a", "1"), start.Add(time.Duration(i)*time.Minute), float64(i))
	}
	query := func() string {
		t.Helper()
		v := url.Values{"query": {"sum(m)"}, "start": {unix(start)}, "end": {unix(start.Add(50 * time.Minute))}, "step": {"60"}}
		rec := httptest.NewRecorder()
		c.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/query_range?"+v.Encode(), nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("query_range: %d %s", rec.Code, rec.Body)
		}
		var body struct {
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		return string(body.Data)
	}
	first := query()
	if again := query(); again != first {
		t.Fatalf("cached answer %s, first %s", again, first)
	}
	if hits := metricValue(t, c, "graft_querycache_hits_total"); hits < 1 {
		t.Fatalf("hits %v after a repeated query", hits)
	}
	// A new series in the cached range: the next answer has it.
	appendAt(labels.FromStrings("__name__", "m", "a", "2"), start.Add(10*time.Minute), 1000)
	if got := query(); got == first || !strings.Contains(got, `"1010"`) {
		t.Fatalf("answer after a new sample %s", got)
	}
	writeFile(t, path, "scrape_configs: []\ngraft:\n  query_cache:\n    enabled: false\n")
	if err := c.Reload(); err != nil {
		t.Fatal(err)
	}
	before := metricValue(t, c, "graft_querycache_requests_total")
	query()
	if metricValue(t, c, "graft_querycache_requests_total") != before {
		t.Fatal("a disabled cache was asked")
	}
}

// metricValue reads a counter or gauge without labels from the core's
// registry.
func metricValue(t *testing.T, c *Core, name string) float64 {
	t.Helper()
	mfs, err := c.opts.Gatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			m := mf.GetMetric()[0]
			return m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

func unix(t time.Time) string { return time.Unix(t.Unix(), 0).Format(time.RFC3339) }
