package api_test

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/api"
	"github.com/graftlabs/graft/pkg/promql"
	"github.com/graftlabs/graft/pkg/storage"
	"github.com/graftlabs/graft/pkg/storage/memstore"
	"github.com/graftlabs/graft/pkg/storage/tsdb"
	"github.com/graftlabs/graft/pkg/storage/tsdb/wal"
)

// downsampledStores holds 48h of a counter (with a reset) and a gauge,
// 15s apart, twice: in a TSDB that made 5m copies of everything older
// than 12h, and in a memstore (raw samples only).
func downsampledStores(t *testing.T) (*tsdb.DB, *memstore.Store) {
	t.Helper()
	db, err := tsdb.Open(t.TempDir(), tsdb.Options{Fsync: wal.FsyncSegment, MaintenanceInterval: time.Hour,
		BlockRange: 2 * time.Hour, MaxBlockDuration: 6 * time.Hour, Downsample5mAfter: 12 * time.Hour, Downsample1hAfter: 1000 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	raw := memstore.New()
	c, g := labels.FromStrings("__name__", "c"), labels.FromStrings("__name__", "g")
	const step, hour = 15_000, 3_600_000
	cv := 0.0
	for ts := int64(0); ts < 48*hour; ts += step {
		cv += float64(ts/step%7 + 1)
		if ts == 9*hour+17*step {
			cv = 3 // a restart
		}
		gv := math.Round((20+5*math.Sin(float64(ts)/hour))*100) / 100
		for _, st := range []storage.Appendable{db, raw} {
			app := st.Appender(context.Background())
			_, _ = app.Append(0, c, ts, cv)
			_, _ = app.Append(0, g, ts, gv)
			if err := app.Commit(); err != nil {
				t.Fatal(err)
			}
		}
		if ts%(6*hour) == 0 {
			if err := db.Maintain(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := db.Maintain(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db, raw
}

func serveStore(t *testing.T, st storage.Queryable) *server {
	srv := httptest.NewServer((&api.API{Storage: st, Engine: promql.NewEngine(promql.EngineOpts{})}).Handler())
	t.Cleanup(srv.Close)
	return &server{t: t, url: srv.URL}
}

// rangeResult is a query_range answer: values by series, and the samples
// the query read.
type rangeResult struct {
	values  map[string][]float64
	samples float64
}

func queryRange(t *testing.T, s *server, params url.Values) rangeResult {
	t.Helper()
	params.Set("stats", "all")
	r := s.get("/api/v1/query_range", params).success(t)
	var data struct {
		Result []struct {
			Metric map[string]string `json:"metric"`
			Values [][2]any          `json:"values"`
		} `json:"result"`
		Stats struct {
			Samples struct {
				Total float64 `json:"totalQueryableSamples"`
			} `json:"samples"`
		} `json:"stats"`
	}
	if err := json.Unmarshal(r.Data, &data); err != nil {
		t.Fatal(err)
	}
	out := rangeResult{values: map[string][]float64{}, samples: data.Stats.Samples.Total}
	for _, s := range data.Result {
		k := labels.FromMap(s.Metric).String()
		for _, v := range s.Values {
			f, _ := strconv.ParseFloat(v[1].(string), 64)
			out.values[k] = append(out.values[k], f)
		}
	}
	return out
}

// maxRelDiff is the largest relative difference between a and b's values,
// +Inf if they hold other series or points.
func maxRelDiff(a, b rangeResult) float64 {
	if len(a.values) != len(b.values) || len(a.values) == 0 {
		return math.Inf(1)
	}
	worst := 0.0
	for k, av := range a.values {
		bv := b.values[k]
		if len(av) != len(bv) {
			return math.Inf(1)
		}
		for i := range av {
			worst = max(worst, math.Abs(av[i]-bv[i])/math.Max(math.Abs(av[i]), 1e-9))
		}
	}
	return worst
}

// A query_range with a large step reads the 5m copies when it accepts
// them (auto: a fifth of the step) and gets answers close to raw from far
// fewer samples; raw stays the default and reads exactly the raw samples;
// functions that downsampled data would answer wrongly read raw samples.
func TestMaxSourceResolution(t *testing.T) {
	db, raw := downsampledStores(t)
	s, ref := serveStore(t, db), serveStore(t, raw)
	grid := func(q string, kv ...string) url.Values {
		p := params("query", q, "start", "7200", "end", strconv.Itoa(30*3600), "step", "3600")
		for i := 0; i < len(kv); i += 2 {
			p.Set(kv[i], kv[i+1])
		}
		return p
	}
	for q, tolerance := range map[string]float64{`rate(c[1h])`: 0.02, `avg_over_time(g[1h])`: 0.005, `max_over_time(g[1h])`: 0.005} {
		want := queryRange(t, ref, grid(q))
		for _, res := range []string{"", "raw", "0s"} {
			got := queryRange(t, s, grid(q, "max_source_resolution", res))
			if d := maxRelDiff(got, want); d != 0 || got.samples != want.samples {
				t.Errorf("%s at %q: differs from raw by %v, %v samples read, raw %v", q, res, d, got.samples, want.samples)
			}
		}
		for _, res := range []string{"auto", "5m", "1h"} {
			got := queryRange(t, s, grid(q, "max_source_resolution", res))
			if d := maxRelDiff(got, want); d > tolerance {
				t.Errorf("%s at %s: differs from raw by %.4f, more than %v", q, res, d, tolerance)
			}
			if got.samples > want.samples/5 {
				t.Errorf("%s at %s: read %v samples, raw %v: not the 5m copies", q, res, got.samples, want.samples)
			}
		}
	}
	// A small step's automatic resolution is raw; count_over_time and
	// irate always read raw samples.
	for _, p := range []url.Values{
		grid(`rate(c[1h])`, "max_source_resolution", "auto", "step", "600"),
		grid(`count_over_time(g[1h])`, "max_source_resolution", "1h"),
		grid(`irate(c[1h])`, "max_source_resolution", "1h"),
	} {
		got, want := queryRange(t, s, p), queryRange(t, ref, p)
		if d := maxRelDiff(got, want); d != 0 {
			t.Errorf("%v: differs from raw by %v", p, d)
		}
	}
	for _, bad := range []string{"x", "-5m"} {
		s.get("/api/v1/query_range", grid("c", "max_source_resolution", bad)).failure(t, http.StatusBadRequest, "bad_data", "max_source_resolution")
		s.get("/api/v1/query", params("query", "c", "max_source_resolution", bad)).failure(t, http.StatusBadRequest, "bad_data", "max_source_resolution")
	}
}
