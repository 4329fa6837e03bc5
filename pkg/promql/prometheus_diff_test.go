package promql_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	prom "github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	promstorage "github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/util/annotations"

	"github.com/graftlabs/graft/pkg/promql"
	"github.com/graftlabs/graft/pkg/storage"
	"github.com/graftlabs/graft/pkg/storage/memstore"
)

// diffQueries are evaluated by both engines, instant and range. Queries of
// range-vector or string type run as instant queries only.
var diffQueries = []string{
	`http_requests_total`,
	`http_requests_total{job="api"}`,
	`http_requests_total{method!="get"}`,
	`http_requests_total{instance=~"0|2"}`,
	`http_requests_total{instance!~"1", job="web"}`,
	`node_temp offset 5m`,
	`node_temp offset -3m`,
	`node_temp @ 3000`,
	`node_temp @ start()`,
	`node_temp @ end()`,
	`rate(http_requests_total[5m])`,
	`rate((http_requests_total[5m]))`,
	`increase(http_requests_total[10m])`,
	`irate(http_requests_total[1m])`,
	`delta(node_temp[10m])`,
	`rate(http_requests_total[5m] offset 10m)`,
	`rate(http_requests_total[5m] @ 3600)`,
	`increase(http_requests_total[2m] @ end() offset 1m)`,
	`avg_over_time(node_temp[10m])`,
	`sum_over_time(node_temp[7m])`,
	`min_over_time(node_temp[5m])`,
	`max_over_time(node_temp[5m])`,
	`count_over_time(sparse_gauge[15m])`,
	`last_over_time(sparse_gauge[10m])`,
	`sum(rate(http_requests_total[5m]))`,
	`sum by (job) (rate(http_requests_total[5m]))`,
	`avg without (instance) (node_temp)`,
	`max by (zone) (node_temp)`,
	`min(node_temp)`,
	`count by (job, method) (http_requests_total)`,
	`sum without (method) (http_requests_total) / on(job, instance) sum by (job, instance) (http_requests_total)`,
	`node_temp * 2 + 1`,
	`2 - node_temp`,
	`node_temp % 3`,
	`node_temp ^ 2`,
	`node_temp atan2 10`,
	`node_temp > 20`,
	`20 < node_temp`,
	`node_temp >= bool 20`,
	`http_requests_total / http_requests_total offset 5m`,
	`sum by (job, instance) (rate(http_requests_total{method="get"}[5m])) / sum by (job, instance) (rate(http_requests_total[5m]))`,
	`node_temp{zone="a"} - ignoring(zone) node_temp{zone="b"}`,
	`node_temp{zone="a"} > on(instance) node_temp{zone="b"}`,
	`node_temp{zone="a"} != bool ignoring(zone) node_temp{zone="b"}`,
	`up == 1`,
	`up != bool 0`,
	`http_requests_total and on(instance) (up == 1)`,
	`node_temp or sparse_gauge`,
	`node_temp unless node_temp > 25`,
	`up{job="api"} or on(instance) up{job="web"}`,
	`-node_temp`,
	`abs(-node_temp)`,
	`scalar(sum(up))`,
	`vector(time())`,
	`time() - 100`,
	`scalar(up{instance="0", job="api"}) * node_temp`,
	`1 + 2 * 3 > bool 6`,
	`stale_series`,
	`last_over_time(stale_series[2m])`,
	`count_over_time(stale_series[5m])`,
	`rate(stale_series[3m])`,
	`aligned_total`,
	`increase(http_requests_total[1m])`,
	`delta(node_temp[1m])`,
	`irate(stale_series[5m])`,
	`max_over_time(stale_series[10m])`,
	`avg(rate(http_requests_total[2m]))`,
	`sum without (method, instance) (rate(http_requests_total[5m]))`,
	`(node_temp > 20) * 2`,
	`node_temp > node_temp offset 1m`,
	`node_temp == node_temp`,
	`count(up == 0) by (job)`,
	`rate(aligned_total[5m])`,
	`count_over_time(up[5m])`,
	`count_over_time(aligned_total[2m])`,
	// Errors must match too.
	`node_temp + on() node_temp`,
	`sparse_gauge - on(instance) node_temp`,
	`abs({__name__=~"node_temp|sparse_gauge"})`,
	`rate({__name__=~"node_temp|sparse_gauge"}[5m])`,
}

// instantOnly are range-vector and string expressions.
var instantOnly = []string{
	`http_requests_total[5m]`,
	`node_temp[2m] offset 1m`,
	`sparse_gauge[20m] @ 3000`,
	`stale_series[5m]`,
	`(node_temp[2m])`,
	`"hello"`,
	`(1 + 2) * 3`,
}

func TestAgainstPrometheusEngine(t *testing.T) {
	st := randomStore(t, 42)
	ours := promql.NewEngine(promql.EngineOpts{})
	ref := prom.NewEngine(prom.EngineOpts{
		MaxSamples:           50_000_000,
		Timeout:              time.Minute,
		EnableAtModifier:     true,
		EnableNegativeOffset: true,
	})
	adapter := promQueryable{st}
	ctx := context.Background()
	var stats diffStats

	instantTimes := []float64{0, 45, 600, 1800, 3299.999, 3300, 3607.5, 5999, 7200, 7500}
	ranges := []struct{ start, end, step float64 }{
		{0, 7200, 30},
		{300, 7260, 61},
		{3000, 3600, 15},
		{7000, 7000, 10},
	}

	for _, q := range slices.Concat(diffQueries, instantOnly) {
		for _, ts := range instantTimes {
			name := fmt.Sprintf("instant %s @%v", q, ts)
			pq, err := ref.NewInstantQuery(ctx, adapter, nil, q, at(ts))
			if err != nil {
				t.Fatalf("%s: reference rejected query: %v", name, err)
			}
			pr := pq.Exec(ctx)
			got, gotErr := ours.Instant(ctx, st, q, at(ts))
			compareResults(t, &stats, name, got, gotErr, pr)
			pq.Close()
		}
	}
	for _, q := range diffQueries {
		for _, r := range ranges {
			name := fmt.Sprintf("range %s [%v,%v,%v]", q, r.start, r.end, r.step)
			step := time.Duration(r.step * float64(time.Second))
			pq, err := ref.NewRangeQuery(ctx, adapter, nil, q, at(r.start), at(r.end), step)
			if err != nil {
				t.Fatalf("%s: reference rejected query: %v", name, err)
			}
			pr := pq.Exec(ctx)
			got, gotErr := ours.Range(ctx, st, q, at(r.start), at(r.end), step)
			compareResults(t, &stats, name, got, gotErr, pr)
			pq.Close()
		}
	}
	t.Logf("compared %d results: %d non-empty, %d errors on both sides", stats.compared, stats.nonEmpty, stats.errors)
	if stats.nonEmpty < stats.compared*3/4 {
		t.Errorf("only %d of %d results are non-empty: the data does not exercise the queries", stats.nonEmpty, stats.compared)
	}
}

// diffStats guards against a vacuous comparison (everything empty).
type diffStats struct{ compared, nonEmpty, errors int }

func compareResults(t *testing.T, stats *diffStats, name string, got *promql.Result, gotErr error, want *prom.Result) {
	t.Helper()
	stats.compared++
	if want.Err != nil || gotErr != nil {
		stats.errors++
		if want.Err == nil || gotErr == nil || want.Err.Error() != gotErr.Error() {
			t.Errorf("%s: errors differ:\n got: %v\nwant: %v", name, gotErr, want.Err)
		}
		return
	}
	wantVal := fromProm(want.Value)
	if !isEmpty(wantVal) {
		stats.nonEmpty++
	}
	if ok, why := sameValue(got.Value, wantVal); !ok {
		t.Errorf("%s: %s\n got: %s\nwant: %s", name, why, got.Value, wantVal)
	}
}

func isEmpty(v promql.Value) bool {
	switch v := v.(type) {
	case promql.Vector:
		return len(v) == 0
	case promql.Matrix:
		return len(v) == 0
	}
	return false
}

// fromProm converts a reference result into Graft's types, sorted the way
// Graft sorts.
func fromProm(v parser.Value) promql.Value {
	switch v := v.(type) {
	case prom.Scalar:
		return promql.Scalar{T: v.T, V: v.V}
	case prom.String:
		return promql.String{T: v.T, V: v.V}
	case prom.Vector:
		out := make(promql.Vector, len(v))
		for i, s := range v {
			out[i] = promql.Sample{Metric: s.Metric, T: s.T, F: s.F}
		}
		slices.SortFunc(out, func(a, b promql.Sample) int { return labels.Compare(a.Metric, b.Metric) })
		return out
	case prom.Matrix:
		out := make(promql.Matrix, len(v))
		for i, s := range v {
			pts := make([]promql.FPoint, len(s.Floats))
			for j, p := range s.Floats {
				pts[j] = promql.FPoint{T: p.T, F: p.F}
			}
			out[i] = promql.Series{Metric: s.Metric, Floats: pts}
		}
		slices.SortFunc(out, func(a, b promql.Series) int { return labels.Compare(a.Metric, b.Metric) })
		return out
	}
	panic(fmt.Sprintf("unexpected reference value %T", v))
}

// randomStore builds two hours of data with everything the evaluator must get
// right: counters with resets, series starting late and ending early with a
// stale marker, jittered scrapes, gaps longer than the lookback, NaNs.
func randomStore(t testing.TB, seed uint64) *memstore.Store {
	rng := rand.New(rand.NewPCG(seed, seed))
	st := memstore.New()
	const end = 2 * 3600 * 1000

	for _, job := range []string{"api", "web"} {
		for _, inst := range []string{"0", "1", "2"} {
			for _, method := range []string{"get", "post"} {
				lset := labels.FromStrings("__name__", "http_requests_total", "job", job, "instance", inst, "method", method)
				startT := int64(rng.IntN(4)) * 10 * 60 * 1000 // some series start late
				stopT := int64(end)
				if rng.IntN(3) == 0 {
					stopT = end - int64(rng.IntN(30))*60*1000 // and some end early
				}
				var pts []promql.FPoint
				v := float64(rng.IntN(100))
				for ts := startT; ts < stopT; ts += 15000 {
					if rng.IntN(100) == 0 {
						v = float64(rng.IntN(5)) // counter reset
					} else {
						v += float64(rng.IntN(20))
					}
					pts = append(pts, promql.FPoint{T: ts + int64(rng.IntN(2000)), F: v})
				}
				if stopT < end {
					pts = append(pts, promql.FPoint{T: stopT + 15000, F: math.Float64frombits(value.StaleNaN)})
				}
				appendAll(t, st, lset, pts)
			}
			up := labels.FromStrings("__name__", "up", "job", job, "instance", inst)
			var pts []promql.FPoint
			for ts := int64(0); ts < end; ts += 30000 {
				pts = append(pts, promql.FPoint{T: ts, F: float64(min(1, rng.IntN(8)))})
			}
			appendAll(t, st, up, pts)
		}
	}

	for _, inst := range []string{"0", "1", "2"} {
		for _, zone := range []string{"a", "b"} {
			lset := labels.FromStrings("__name__", "node_temp", "instance", inst, "zone", zone)
			var pts []promql.FPoint
			v := 20.0
			for ts := int64(0); ts < end; ts += 20000 + int64(rng.IntN(5000)) {
				v += rng.NormFloat64()
				f := math.Round(v*1000) / 1000
				if rng.IntN(200) == 0 {
					f = math.NaN()
				}
				pts = append(pts, promql.FPoint{T: ts, F: f})
			}
			appendAll(t, st, lset, pts)

			// Same labels as node_temp but another name, sampled every
			// 3 to 10 minutes: gaps beyond the lookback delta.
			sparse := labels.FromStrings("__name__", "sparse_gauge", "instance", inst, "zone", zone)
			pts = nil
			for ts := int64(rng.IntN(300000)); ts < end; ts += int64(180000 + rng.IntN(420000)) {
				pts = append(pts, promql.FPoint{T: ts, F: float64(rng.IntN(50))})
			}
			appendAll(t, st, sparse, pts)
		}

		// Flapping target: stale markers in the middle, then the series resumes.
		lset := labels.FromStrings("__name__", "stale_series", "instance", inst)
		var pts []promql.FPoint
		v := 0.0
		for ts := int64(0); ts < end; ts += 15000 {
			if rng.IntN(40) == 0 {
				pts = append(pts, promql.FPoint{T: ts, F: math.Float64frombits(value.StaleNaN)})
				ts += int64(rng.IntN(20)) * 15000
				continue
			}
			v += float64(rng.IntN(10))
			pts = append(pts, promql.FPoint{T: ts, F: v})
		}
		appendAll(t, st, lset, pts)
	}
	// Grid-aligned series that just stop (no stale marker): they probe the
	// exclusive lookback and range boundaries.
	for _, inst := range []string{"0", "1"} {
		lset := labels.FromStrings("__name__", "aligned_total", "instance", inst)
		var pts []promql.FPoint
		for ts := int64(0); ts <= 3000_000; ts += 60_000 {
			pts = append(pts, promql.FPoint{T: ts, F: float64(ts/1000) * float64(len(inst)+rng.IntN(3))})
		}
		appendAll(t, st, lset, pts)
	}
	return st
}

func appendAll(t testing.TB, st *memstore.Store, lset labels.Labels, pts []promql.FPoint) {
	t.Helper()
	app := st.Appender(context.Background())
	for _, p := range pts {
		if _, err := app.Append(0, lset, p.T, p.F); err != nil {
			t.Fatalf("append %s@%d: %v", lset, p.T, err)
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
}

// The adapter below exposes a Graft storage.Queryable as a Prometheus one so
// that the reference engine reads exactly the same data.

type promQueryable struct{ q storage.Queryable }

func (p promQueryable) Querier(mint, maxt int64) (promstorage.Querier, error) {
	q, err := p.q.Querier(mint, maxt)
	if err != nil {
		return nil, err
	}
	return promQuerier{q}, nil
}

type promQuerier struct{ q storage.Querier }

func (p promQuerier) Select(ctx context.Context, _ bool, hints *promstorage.SelectHints, ms ...*labels.Matcher) promstorage.SeriesSet {
	var h *storage.SelectHints
	if hints != nil {
		h = &storage.SelectHints{Start: hints.Start, End: hints.End, Step: hints.Step, Range: hints.Range, Func: hints.Func}
	}
	return promSeriesSet{p.q.Select(ctx, h, ms...)}
}

func (p promQuerier) LabelValues(ctx context.Context, name string, _ *promstorage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	v, err := p.q.LabelValues(ctx, name, ms...)
	return v, nil, err
}

func (p promQuerier) LabelNames(ctx context.Context, _ *promstorage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	v, err := p.q.LabelNames(ctx, ms...)
	return v, nil, err
}

func (p promQuerier) Close() error { return p.q.Close() }

type promSeriesSet struct{ s storage.SeriesSet }

func (p promSeriesSet) Next() bool                        { return p.s.Next() }
func (p promSeriesSet) At() promstorage.Series            { return promSeries{p.s.At()} }
func (p promSeriesSet) Err() error                        { return p.s.Err() }
func (p promSeriesSet) Warnings() annotations.Annotations { return nil }

type promSeries struct{ s storage.Series }

func (p promSeries) Labels() labels.Labels { return p.s.Labels() }

// Iterator reads the series through Graft's iterator, then replays it with
// Prometheus's own list iterator, so the reference never depends on Graft's
// SeekTo.
func (p promSeries) Iterator(chunkenc.Iterator) chunkenc.Iterator {
	var pts promSamples
	it := p.s.Iterator(nil)
	for it.Next() != storage.ValNone {
		t, v := it.At()
		pts = append(pts, promSample{t: t, f: v})
	}
	if err := it.Err(); err != nil {
		panic(err)
	}
	return promstorage.NewListSeriesIterator(pts)
}

type promSamples []promSample

func (s promSamples) Get(i int) chunks.Sample { return s[i] }
func (s promSamples) Len() int                { return len(s) }

// promSample is a float sample in the shape of chunks.Sample.
type promSample struct {
	t int64
	f float64
}

func (s promSample) T() int64                      { return s.t }
func (s promSample) ST() int64                     { return 0 }
func (s promSample) F() float64                    { return s.f }
func (s promSample) H() *histogram.Histogram       { return nil }
func (s promSample) FH() *histogram.FloatHistogram { return nil }
func (s promSample) Type() chunkenc.ValueType      { return chunkenc.ValFloat }
func (s promSample) Copy() chunks.Sample           { return s }
