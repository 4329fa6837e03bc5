package promql_test

import (
	"context"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/promql"
	"github.com/graftlabs/graft/pkg/storage"
)

// hintRecorder records the hints of every Select made through it.
type hintRecorder struct {
	storage.Queryable
	mtx   sync.Mutex
	hints []storage.SelectHints
}

func (r *hintRecorder) Querier(mint, maxt int64) (storage.Querier, error) {
	q, err := r.Queryable.Querier(mint, maxt)
	return &recordingQuerier{Querier: q, r: r}, err
}

type recordingQuerier struct {
	storage.Querier
	r *hintRecorder
}

func (q *recordingQuerier) Select(ctx context.Context, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	q.r.mtx.Lock()
	q.r.hints = append(q.r.hints, *hints)
	q.r.mtx.Unlock()
	return q.Querier.Select(ctx, hints, ms...)
}

// selectedAs is what a select asked for: the function and resolution.
type selectedAs struct {
	fn  string
	res time.Duration
}

// Each selector reads downsampled data only where its function's answer
// from the aggregate is close to the raw one, at a resolution leaving
// enough points; selectors needing different aggregates do not share a read.
func TestDownsampledSelectHints(t *testing.T) {
	st := loadStore(t, time.Minute, `c 0+10x120`, `g 1+1x120`)
	for _, tc := range []struct {
		query  string
		maxRes time.Duration
		want   []selectedAs
	}{
		{`rate(c[1h])`, 0, []selectedAs{{"rate", 0}}},
		{`rate(c[1h])`, time.Hour, []selectedAs{{"rate", 12 * time.Minute}}},
		{`increase(c[2h])`, 5 * time.Minute, []selectedAs{{"increase", 5 * time.Minute}}},
		{`rate(c[10m])`, time.Hour, []selectedAs{{"rate", 2 * time.Minute}}},
		{`max_over_time(g[1h])`, time.Hour, []selectedAs{{"max_over_time", 12 * time.Minute}}},
		{`avg_over_time(g[1h])`, 5 * time.Minute, []selectedAs{{"avg_over_time", 5 * time.Minute}}},
		{`count_over_time(g[1h])`, time.Hour, []selectedAs{{"count_over_time", 0}}},
		{`quantile_over_time(0.5, g[1h])`, time.Hour, []selectedAs{{"quantile_over_time", 0}}},
		{`irate(c[1h])`, time.Hour, []selectedAs{{"irate", 0}}},
		{`g`, time.Hour, []selectedAs{{"", 5 * time.Minute}}},
		{`sum(g)`, time.Hour, []selectedAs{{"sum", 5 * time.Minute}}},
		{`sum_over_time(g[1h:1m])`, time.Hour, []selectedAs{{"", 5 * time.Minute}}},
		{`last_over_time(g[1h])`, time.Hour, []selectedAs{{"last_over_time", 0}}},
		{`rate(c[1h]) / count_over_time(c[1h])`, time.Hour, []selectedAs{{"count_over_time", 0}, {"rate", 12 * time.Minute}}},
		{`rate(c[1h]) / rate(c[1h])`, time.Hour, []selectedAs{{"rate", 12 * time.Minute}}},
		{`max_over_time(c[1h]) + min_over_time(c[1h])`, time.Hour, []selectedAs{{"max_over_time", 12 * time.Minute}, {"min_over_time", 12 * time.Minute}}},
	} {
		rec := &hintRecorder{Queryable: st}
		e := promql.NewEngine(promql.EngineOpts{})
		qry, err := e.NewRangeQuery(rec, tc.query, time.Unix(3600, 0), time.Unix(7200, 0), time.Hour, promql.QueryOpts{MaxResolution: tc.maxRes})
		if err != nil {
			t.Fatalf("%s: %v", tc.query, err)
		}
		res, err := qry.Exec(context.Background())
		if err != nil {
			t.Fatalf("%s: %v", tc.query, err)
		}
		res.Close()
		var got []selectedAs
		for _, h := range rec.hints {
			got = append(got, selectedAs{h.Func, time.Duration(h.MaxResolution) * time.Millisecond})
		}
		sort.Slice(got, func(i, j int) bool { return got[i].fn < got[j].fn })
		if len(got) != len(tc.want) {
			t.Errorf("%s at %s: selects %v, want %v", tc.query, tc.maxRes, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s at %s: selects %v, want %v", tc.query, tc.maxRes, got, tc.want)
				break
			}
		}
	}
}
