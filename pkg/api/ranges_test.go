package api_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/api"
	"github.com/graftlabs/graft/pkg/promql"
	"github.com/graftlabs/graft/pkg/storage/memstore"
)

// recordingRanges answers range queries with the engine and notes them.
type recordingRanges struct {
	engine *promql.Engine
	store  *memstore.Store
	calls  []rangeCall
}

type rangeCall struct {
	query      string
	start, end time.Time
	step       time.Duration
	opts       promql.QueryOpts
}

func (r *recordingRanges) Range(ctx context.Context, query string, start, end time.Time, step time.Duration, opts promql.QueryOpts) (*promql.Result, error) {
	r.calls = append(r.calls, rangeCall{query, start, end, step, opts})
	if err := promql.ValidateRange(start, end, step); err != nil {
		return nil, err
	}
	qry, err := r.engine.NewRangeQuery(r.store, query, start, end, step, opts)
	if err != nil {
		return nil, err
	}
	return qry.Exec(ctx)
}

// Range queries go through API.Ranges (the core's results cache) with
// their options; instant queries do not.
func TestQueryRangeThroughRanges(t *testing.T) {
	st := memstore.New()
	app := st.Appender(context.Background())
	if _, err := app.Append(0, labels.FromStrings("__name__", "m"), 10_000, 1); err != nil {
		t.Fatal(err)
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	engine := promql.NewEngine(promql.EngineOpts{})
	ranges := &recordingRanges{engine: engine, store: st}
	a := &api.API{Storage: st, Engine: engine, Targets: &fakeTargets{}, Ranges: ranges, Now: func() time.Time { return time.Unix(30, 0) }}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	s := &server{t: t, url: srv.URL}

	r := s.get("/api/v1/query_range", params("query", "m", "start", "10", "end", "20", "step", "10", "lookback_delta", "1m")).success(t)
	if want := `{"resultType":"matrix","result":[{"metric":{"__name__":"m"},"values":[[10,"1"],[20,"1"]]}]}`; string(r.Data) != want {
		t.Fatalf("data %s, want %s", r.Data, want)
	}
	want := rangeCall{"m", time.Unix(10, 0), time.Unix(20, 0), 10 * time.Second, promql.QueryOpts{LookbackDelta: time.Minute}}
	if len(ranges.calls) != 1 || !ranges.calls[0].start.Equal(want.start) || !ranges.calls[0].end.Equal(want.end) ||
		ranges.calls[0].query != want.query || ranges.calls[0].step != want.step || ranges.calls[0].opts != want.opts {
		t.Fatalf("calls %+v, want %+v", ranges.calls, want)
	}
	s.get("/api/v1/query", params("query", "m", "time", "20")).success(t)
	if len(ranges.calls) != 1 {
		t.Fatal("an instant query went through Ranges")
	}
	if r := s.get("/api/v1/query_range", params("query", "m", "start", "0", "end", "100000", "step", "1")); r.Code != 400 || r.ErrorType != "bad_data" {
		t.Fatalf("too many points: %d %s", r.Code, r.ErrorType)
	}
}
