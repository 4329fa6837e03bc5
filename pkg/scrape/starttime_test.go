package scrape

import (
	"context"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/storage"
	"github.com/graftlabs/graft/pkg/storage/tsdb"
)

// With Options.StartTimestamps, the _created lines of an OpenMetrics body
// become the start timestamps of the counter and histogram samples;
// without it nothing is stored for them. Gauges never have one.
func TestScrapeStoresStartTimestamps(t *testing.T) {
	body := `# TYPE requests counter
requests_total{path="/"} 10
requests_created{path="/"} 1700000000.5
# TYPE latency histogram
latency_bucket{le="1"} 2
latency_bucket{le="+Inf"} 3
latency_count 3
latency_sum 1.5
latency_created 1700000001
# TYPE temperature gauge
temperature 21
# EOF
`
	for _, c := range []struct {
		enabled bool
		want    map[string]int64 // start timestamp per series name
	}{
		{true, map[string]int64{"requests_total": 1700000000500, "latency_bucket": 1700000001000, "latency_count": 1700000001000, "latency_sum": 1700000001000, "temperature": 0}},
		{false, map[string]int64{"requests_total": 0, "latency_bucket": 0, "latency_count": 0, "latency_sum": 0, "temperature": 0}},
	} {
		tt := newTestTarget(t)
		tt.set(http.StatusOK, ctOM, body)
		db, err := tsdb.Open(t.TempDir(), tsdb.Options{})
		if err != nil {
			t.Fatal(err)
		}
		m := NewManager(db, Options{StartTimestamps: c.enabled})
		cfgs := loadScrapeConfigs(t, scrapeConfigsYAML(jobYAML("test", "", tt.host())))
		l := oneLoop(t, m, cfgs[0])
		l.scrapeOnce(context.Background(), time.Now().Add(-time.Minute))
		got := startTimestamps(t, db)
		m.Stop()
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		for name, want := range c.want {
			sts, ok := got[name]
			if !ok {
				t.Fatalf("enabled %v: no series %s; got %v", c.enabled, name, got)
			}
			for _, st := range sts {
				if st != want {
					t.Errorf("enabled %v: %s has start timestamp %d, want %d", c.enabled, name, st, want)
				}
			}
		}
		if _, ok := got["requests_created"]; ok {
			t.Errorf("enabled %v: the _created line was stored as a series", c.enabled)
		}
	}
}

// startTimestamps reads the start timestamps of every sample, by metric
// name.
func startTimestamps(t *testing.T, q storage.Queryable) map[string][]int64 {
	t.Helper()
	qr, err := q.Querier(math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	defer qr.Close()
	out := map[string][]int64{}
	ss := qr.Select(context.Background(), nil, labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+"))
	for ss.Next() {
		it := ss.At().Iterator(nil)
		name := ss.At().Labels().Get("__name__")
		for it.Next() != storage.ValNone {
			out[name] = append(out[name], it.(storage.StartTimestampIterator).AtST())
		}
	}
	if err := ss.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
