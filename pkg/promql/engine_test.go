package promql_test

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/graftlabs/graft/pkg/promql"
	"github.com/graftlabs/graft/pkg/storage"
	"github.com/graftlabs/graft/pkg/storage/memstore"
)

type instantCase struct {
	query string
	at    float64 // seconds
	want  promql.Value
}

func runInstant(t *testing.T, st storage.Queryable, cases []instantCase) {
	t.Helper()
	eng := promql.NewEngine(promql.EngineOpts{})
	for _, c := range cases {
		res, err := eng.Instant(context.Background(), st, c.query, at(c.at))
		if err != nil {
			t.Errorf("%s @%v: unexpected error: %v", c.query, c.at, err)
			continue
		}
		if ok, why := sameValue(res.Value, c.want); !ok {
			t.Errorf("%s @%v: %s\n got: %s\nwant: %s", c.query, c.at, why, res.Value, c.want)
		}
	}
}

func TestLiteralsAndScalars(t *testing.T) {
	st := memstore.New()
	ts := ms(100)
	sc := func(v float64) promql.Value { return promql.Scalar{T: ts, V: v} }
	runInstant(t, st, []instantCase{
		{query: `1`, at: 100, want: sc(1)},
		{query: `-2.5`, at: 100, want: sc(-2.5)},
		{query: `+4`, at: 100, want: sc(4)},
		{query: `(1 + 2) * 3`, at: 100, want: sc(9)},
		{query: `2 ^ 3 ^ 2`, at: 100, want: sc(512)},
		{query: `7 % 4`, at: 100, want: sc(3)},
		{query: `1 / 0`, at: 100, want: sc(math.Inf(1))},
		{query: `1 == bool 1`, at: 100, want: sc(1)},
		{query: `2 < bool 1`, at: 100, want: sc(0)},
		{query: `time()`, at: 100, want: sc(100)},
		{query: `time() - 40`, at: 100, want: sc(60)},
		{query: `scalar(vector(3))`, at: 100, want: sc(3)},
		{query: `scalar(nothing)`, at: 100, want: sc(math.NaN())},
		{query: `vector(3)`, at: 100, want: vec(t, ts, `{}`, 3)},
		{query: `vector(time()) * 2`, at: 100, want: vec(t, ts, `{}`, 200)},
		{query: `"hello"`, at: 100, want: promql.String{T: ts, V: "hello"}},
	})
}

// selectorStore: one sample per minute from t=0.
//
//	foo{a="1",b="x"}: 0 10 20 ... 100
//	foo{a="2",b="y"}: 100 at 0s, 70 at 420s
//	foo{a="3",b="x"}: 1 at 0s, 2 at 60s, stale marker at 120s, 4 at 180s
func selectorStore(t *testing.T) *memstore.Store {
	return loadStore(t, time.Minute,
		`foo{a="1",b="x"} 0+10x10`,
		`foo{a="2",b="y"} 100 _ _ _ _ _ _ 70`,
		`foo{a="3",b="x"} 1 2 stale 4`,
	)
}

func TestVectorSelectors(t *testing.T) {
	st := selectorStore(t)
	a1, a2, a3 := `foo{a="1",b="x"}`, `foo{a="2",b="y"}`, `foo{a="3",b="x"}`
	runInstant(t, st, []instantCase{
		// The newest sample in (t-5m, t] is selected.
		{query: `foo`, at: 150, want: vec(t, ms(150), a1, 20, a2, 100)},
		{query: `foo{a="1"}`, at: 150, want: vec(t, ms(150), a1, 20)},
		{query: `foo{a!="1"}`, at: 150, want: vec(t, ms(150), a2, 100)},
		{query: `foo{b=~"x|z"}`, at: 150, want: vec(t, ms(150), a1, 20)},
		{query: `foo{b!~"x"}`, at: 150, want: vec(t, ms(150), a2, 100)},
		{query: `{__name__="foo", a=~"1|2"}`, at: 150, want: vec(t, ms(150), a1, 20, a2, 100)},
		{query: `foo{a="1"}`, at: 120, want: vec(t, ms(120), a1, 20)}, // sample exactly at t
		// Lookback: the window is left-open, so a sample exactly 5m old is gone.
		{query: `foo{a="2"}`, at: 299.999, want: vec(t, ms(299.999), a2, 100)},
		{query: `foo{a="2"}`, at: 300, want: promql.Vector{}},
		{query: `foo{a="2"}`, at: 420, want: vec(t, ms(420), a2, 70)},
		// Staleness: a stale marker hides the series until the next sample.
		{query: `foo{a="3"}`, at: 60, want: vec(t, ms(60), a3, 2)},
		{query: `foo{a="3"}`, at: 120, want: promql.Vector{}},
		{query: `foo{a="3"}`, at: 179, want: promql.Vector{}},
		{query: `foo{a="3"}`, at: 180, want: vec(t, ms(180), a3, 4)},
		{query: `foo{a="3"}`, at: 479.9, want: vec(t, ms(479.9), a3, 4)},
		{query: `foo{a="3"}`, at: 480, want: promql.Vector{}},
		// Before any data.
		{query: `foo`, at: -1, want: promql.Vector{}},
		{query: `nonexistent`, at: 100, want: promql.Vector{}},
	})
}

func TestOffsetAndAt(t *testing.T) {
	st := selectorStore(t)
	a1 := `foo{a="1",b="x"}`
	runInstant(t, st, []instantCase{
		{query: `foo{a="1"} offset 1m`, at: 150, want: vec(t, ms(150), a1, 10)},
		{query: `foo{a="1"} offset -1m`, at: 150, want: vec(t, ms(150), a1, 30)},
		{query: `foo{a="1"} @ 60`, at: 500, want: vec(t, ms(500), a1, 10)},
		{query: `foo{a="1"} @ 60 offset 1m`, at: 500, want: vec(t, ms(500), a1, 0)},
		{query: `foo{a="1"} @ 650`, at: 0, want: vec(t, 0, a1, 100)},
		{query: `foo{a="1"} @ 1000`, at: 0, want: promql.Vector{}}, // nothing in (700s, 1000s]
		{query: `foo{a="1"} @ start()`, at: 240, want: vec(t, ms(240), a1, 40)},
		{query: `sum_over_time(foo{a="1"}[2m] @ 180)`, at: 600, want: vec(t, ms(600), `{a="1",b="x"}`, 50)},
	})

	eng := promql.NewEngine(promql.EngineOpts{})
	for _, c := range []struct {
		query string
		want  float64
	}{
		{`foo{a="1"} @ start()`, 20},
		{`foo{a="1"} @ end()`, 50},
		{`foo{a="1"} @ end() offset 2m`, 30},
	} {
		res, err := eng.Range(context.Background(), st, c.query, at(120), at(300), time.Minute)
		if err != nil {
			t.Fatalf("%s: %v", c.query, err)
		}
		want := promql.Matrix{{Metric: mustMetric(t, a1), Floats: []promql.FPoint{
			{T: ms(120), F: c.want}, {T: ms(180), F: c.want}, {T: ms(240), F: c.want}, {T: ms(300), F: c.want},
		}}}
		if ok, why := sameValue(res.Value, want); !ok {
			t.Errorf("%s: %s\n got: %s", c.query, why, res.Value)
		}
	}
}

func TestMatrixSelectorInstant(t *testing.T) {
	st := selectorStore(t)
	a1 := mustMetric(t, `foo{a="1",b="x"}`)
	a3 := mustMetric(t, `foo{a="3",b="x"}`)
	runInstant(t, st, []instantCase{
		// (t-2m, t]: the sample at exactly t-2m is excluded.
		{query: `foo{a="1"}[2m]`, at: 180, want: promql.Matrix{{Metric: a1, Floats: []promql.FPoint{{T: ms(120), F: 20}, {T: ms(180), F: 30}}}}},
		{query: `foo{a="1"}[2m] offset 1m`, at: 180, want: promql.Matrix{{Metric: a1, Floats: []promql.FPoint{{T: ms(60), F: 10}, {T: ms(120), F: 20}}}}},
		// Stale markers are skipped in range vectors.
		{query: `foo{a="3"}[5m]`, at: 200, want: promql.Matrix{{Metric: a3, Floats: []promql.FPoint{{T: 0, F: 1}, {T: ms(60), F: 2}, {T: ms(180), F: 4}}}}},
		{query: `foo{a="1"}[30s]`, at: 150, want: promql.Matrix{}},
	})
}

// counterStore holds hand-made series for the extrapolation cases; each
// comment gives the arithmetic of the expected value at t=300s, range 5m.
func counterStore(t *testing.T) *memstore.Store {
	st := memstore.New()
	pts := func(vals ...float64) []promql.FPoint { // at 60s, 120s, ...
		out := make([]promql.FPoint, len(vals))
		for i, v := range vals {
			out[i] = promql.FPoint{T: ms(float64(60 * (i + 1))), F: v}
		}
		return out
	}
	addSamples(t, st, `steady_total`, pts(60, 120, 180, 240, 300)...)
	addSamples(t, st, `reset_total`, pts(10, 20, 30, 5, 15)...)
	addSamples(t, st, `near_zero_total`, pts(1, 61, 121, 181, 241)...)
	addSamples(t, st, `late_total`, promql.FPoint{T: ms(180), F: 10}, promql.FPoint{T: ms(240), F: 20}, promql.FPoint{T: ms(300), F: 30})
	addSamples(t, st, `early_total`, promql.FPoint{T: 0, F: 0}, promql.FPoint{T: ms(60), F: 10}, promql.FPoint{T: ms(120), F: 20}, promql.FPoint{T: ms(180), F: 30})
	addSamples(t, st, `single_total`, promql.FPoint{T: ms(200), F: 5})
	addSamples(t, st, `gauge`, pts(5, 3, 8, 1, 4)...)
	addSamples(t, st, `gappy`, promql.FPoint{T: ms(60), F: 1}, promql.FPoint{T: ms(120), F: 2},
		promql.FPoint{T: ms(180), F: math.Float64frombits(value.StaleNaN)}, promql.FPoint{T: ms(240), F: 4})
	return st
}

func TestRateExtrapolation(t *testing.T) {
	st := counterStore(t)
	ts := ms(300)
	runInstant(t, st, []instantCase{
		// 240 over 240s sampled, 60s to the window start (< 1.1*avg 60s, so
		// extrapolated fully), 0s to the end: 240*300/240 = 300; rate /300s.
		{query: `increase(steady_total[5m])`, at: 300, want: vec(t, ts, `{}`, 300)},
		{query: `rate(steady_total[5m])`, at: 300, want: vec(t, ts, `{}`, 1)},
		// Reset 30 -> 5 adds 30: 15-10+30 = 35; factor 300/240: 43.75.
		{query: `increase(reset_total[5m])`, at: 300, want: vec(t, ts, `{}`, 43.75)},
		{query: `rate(reset_total[5m])`, at: 300, want: vec(t, ts, `{}`, 43.75/300)},
		// Extrapolating 60s back would go below zero; the counter would hit
		// zero 240*(1/240) = 1s before the first sample: 240*241/240 = 241.
		{query: `increase(near_zero_total[5m])`, at: 300, want: vec(t, ts, `{}`, 241)},
		// Series starts inside the window: 180s to the start >= 1.1*60s, so
		// only half an interval (30s) is added: 20*(120+30)/120 = 25.
		{query: `increase(late_total[5m])`, at: 300, want: vec(t, ts, `{}`, 25)},
		// Series ends inside the window: samples 60..180s (the one at 0 is
		// outside the left-open window); 120s to the end -> 30s:
		// 20*(120+60+30)/120 = 35.
		{query: `increase(early_total[5m])`, at: 300, want: vec(t, ts, `{}`, 35)},
		{query: `rate(single_total[5m])`, at: 300, want: promql.Vector{}},
		// delta does not treat drops as resets and may go negative:
		// (4-5)*300/240 = -1.25.
		{query: `delta(gauge[5m])`, at: 300, want: vec(t, ts, `{}`, -1.25)},
		// irate: last two samples; a drop is a reset.
		{query: `irate(reset_total[5m])`, at: 300, want: vec(t, ts, `{}`, 10.0/60)},
		{query: `irate(reset_total[5m])`, at: 240, want: vec(t, ms(240), `{}`, 5.0/60)},
		{query: `irate(single_total[5m])`, at: 300, want: promql.Vector{}},
	})
}

func TestOverTimeFunctions(t *testing.T) {
	st := counterStore(t)
	ts := ms(300)
	runInstant(t, st, []instantCase{
		{query: `avg_over_time(gauge[5m])`, at: 300, want: vec(t, ts, `{}`, 4.2)},
		{query: `sum_over_time(gauge[5m])`, at: 300, want: vec(t, ts, `{}`, 21)},
		{query: `min_over_time(gauge[5m])`, at: 300, want: vec(t, ts, `{}`, 1)},
		{query: `max_over_time(gauge[5m])`, at: 300, want: vec(t, ts, `{}`, 8)},
		{query: `count_over_time(gauge[5m])`, at: 300, want: vec(t, ts, `{}`, 5)},
		{query: `count_over_time(gauge[2m])`, at: 300, want: vec(t, ts, `{}`, 2)},
		{query: `last_over_time(gauge[5m])`, at: 300, want: vec(t, ts, `gauge`, 4)}, // keeps the name
		// The stale marker at 180s is skipped.
		{query: `count_over_time(gappy[5m])`, at: 300, want: vec(t, ts, `{}`, 3)},
		{query: `last_over_time(gappy[2m])`, at: 200, want: vec(t, ms(200), `gappy`, 2)},
		{query: `count_over_time(gappy[30s])`, at: 200, want: promql.Vector{}},
	})
}

func aggrStore(t *testing.T) *memstore.Store {
	return loadStore(t, time.Minute,
		`m{job="a",inst="1"} 1`,
		`m{job="a",inst="2"} 2`,
		`m{job="b",inst="1"} 4`,
		`m{job="b",inst="2"} 8`,
		`n{job="a",inst="1",extra="e"} 10`,
		`n{job="b",inst="1",extra="e"} 20`,
		`m_copy{job="a",inst="1"} 100`,
		`withnan{i="1"} NaN`,
		`withnan{i="2"} 3`,
	)
}

func TestAggregations(t *testing.T) {
	st := aggrStore(t)
	ts := ms(30)
	runInstant(t, st, []instantCase{
		{query: `sum(m)`, at: 30, want: vec(t, ts, `{}`, 15)},
		{query: `sum by (job) (m)`, at: 30, want: vec(t, ts, `{job="a"}`, 3, `{job="b"}`, 12)},
		{query: `sum(m) by (job)`, at: 30, want: vec(t, ts, `{job="a"}`, 3, `{job="b"}`, 12)},
		{query: `avg by (job) (m)`, at: 30, want: vec(t, ts, `{job="a"}`, 1.5, `{job="b"}`, 6)},
		{query: `min without (inst) (m)`, at: 30, want: vec(t, ts, `{job="a"}`, 1, `{job="b"}`, 4)},
		{query: `max by (inst) (m)`, at: 30, want: vec(t, ts, `{inst="1"}`, 4, `{inst="2"}`, 8)},
		{query: `count without (job) (m)`, at: 30, want: vec(t, ts, `{inst="1"}`, 2, `{inst="2"}`, 2)},
		{query: `count by (nolabel) (m)`, at: 30, want: vec(t, ts, `{}`, 4)},
		{query: `sum by (__name__) ({__name__=~"m|n"})`, at: 30, want: vec(t, ts, `m`, 15, `n`, 30)},
		// NaN only survives min/max when nothing else is there.
		{query: `max(withnan)`, at: 30, want: vec(t, ts, `{}`, 3)},
		{query: `min(withnan)`, at: 30, want: vec(t, ts, `{}`, 3)},
		{query: `sum(withnan)`, at: 30, want: vec(t, ts, `{}`, math.NaN())},
		{query: `sum(nothing)`, at: 30, want: promql.Vector{}},
	})
}

func TestBinaryOperators(t *testing.T) {
	st := aggrStore(t)
	ts := ms(30)
	runInstant(t, st, []instantCase{
		// Arithmetic drops the name; filtering comparisons keep it.
		{query: `m{job="a"} * 2`, at: 30, want: vec(t, ts, `{job="a",inst="1"}`, 2, `{job="a",inst="2"}`, 4)},
		{query: `10 - m{job="a"}`, at: 30, want: vec(t, ts, `{job="a",inst="1"}`, 9, `{job="a",inst="2"}`, 8)},
		{query: `m > 2`, at: 30, want: vec(t, ts, `m{job="b",inst="1"}`, 4, `m{job="b",inst="2"}`, 8)},
		{query: `3 < m`, at: 30, want: vec(t, ts, `m{job="b",inst="1"}`, 4, `m{job="b",inst="2"}`, 8)},
		{query: `m{job="a"} >= bool 2`, at: 30, want: vec(t, ts, `{job="a",inst="1"}`, 0, `{job="a",inst="2"}`, 1)},
		{query: `-m{job="a"}`, at: 30, want: vec(t, ts, `{job="a",inst="1"}`, -1, `{job="a",inst="2"}`, -2)},
		{query: `abs(-m{job="a"})`, at: 30, want: vec(t, ts, `{job="a",inst="1"}`, 1, `{job="a",inst="2"}`, 2)},
		// One-to-one matching.
		{query: `n / on(job, inst) m`, at: 30, want: vec(t, ts, `{job="a",inst="1"}`, 10, `{job="b",inst="1"}`, 5)},
		{query: `n - ignoring(extra) m`, at: 30, want: vec(t, ts, `{job="a",inst="1"}`, 9, `{job="b",inst="1"}`, 16)},
		{query: `n > ignoring(extra) m`, at: 30, want: vec(t, ts, `n{job="a",inst="1"}`, 10, `n{job="b",inst="1"}`, 20)},
		{query: `n > on(job) m{inst="1"}`, at: 30, want: vec(t, ts, `{job="a"}`, 10, `{job="b"}`, 20)},
		{query: `m == ignoring(extra) n`, at: 30, want: promql.Vector{}},
		{query: `m != bool ignoring(extra) n`, at: 30, want: vec(t, ts, `{job="a",inst="1"}`, 1, `{job="b",inst="1"}`, 1)},
		{query: `m + m_copy`, at: 30, want: vec(t, ts, `{job="a",inst="1"}`, 101)},
		// Set operators keep the labels of the side they come from.
		{query: `m and on(job) n{job="b"}`, at: 30, want: vec(t, ts, `m{job="b",inst="1"}`, 4, `m{job="b",inst="2"}`, 8)},
		{query: `m{inst="1"} or n`, at: 30, want: vec(t, ts, `m{job="a",inst="1"}`, 1, `m{job="b",inst="1"}`, 4, `n{job="a",inst="1",extra="e"}`, 10, `n{job="b",inst="1",extra="e"}`, 20)},
		{query: `m{inst="1"} or ignoring(extra) n`, at: 30, want: vec(t, ts, `m{job="a",inst="1"}`, 1, `m{job="b",inst="1"}`, 4)},
		{query: `m unless on(inst) n`, at: 30, want: vec(t, ts, `m{job="a",inst="2"}`, 2, `m{job="b",inst="2"}`, 8)},
		{query: `m unless nothing`, at: 30, want: vec(t, ts, `m{job="a",inst="1"}`, 1, `m{job="a",inst="2"}`, 2, `m{job="b",inst="1"}`, 4, `m{job="b",inst="2"}`, 8)},
		{query: `nothing or vector(1)`, at: 30, want: vec(t, ts, `{}`, 1)},
	})
}

// requireError checks the error type and its exact message.
func requireError(t *testing.T, what string, err error, typ promql.ErrorType, msg string) {
	t.Helper()
	var qe *promql.Error
	if !errors.As(err, &qe) {
		t.Errorf("%s: want *promql.Error %s %q, got %v", what, typ, msg, err)
		return
	}
	if qe.Type != typ || qe.Error() != msg {
		t.Errorf("%s:\n got %s: %s\nwant %s: %s", what, qe.Type, qe.Error(), typ, msg)
	}
}

func TestExecutionErrors(t *testing.T) {
	st := aggrStore(t)
	addSamples(t, st, `early{x="1"}`, promql.FPoint{T: 0, F: 1}, promql.FPoint{T: ms(60), F: 2})
	addSamples(t, st, `late{x="1"}`, promql.FPoint{T: ms(900), F: 3}, promql.FPoint{T: ms(960), F: 4})
	eng := promql.NewEngine(promql.EngineOpts{})
	ctx := context.Background()
	for _, c := range []struct{ query, msg string }{
		{`m{job="a"} + on() m{job="b"}`, `found duplicate series for the match group {} on the right hand-side of the operation: ` +
			`[{__name__="m", inst="1", job="b"}, {__name__="m", inst="2", job="b"}];many-to-many matching not allowed: matching labels must be unique on one side`},
		{`m + on(job) m{inst="1"}`, `multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)`},
		{`abs({__name__=~"m|m_copy"})`, `vector cannot contain metrics with the same labelset`},
		{`{__name__=~"m|m_copy"} * 2`, `vector cannot contain metrics with the same labelset`},
		{`-{__name__=~"m|m_copy"}`, `vector cannot contain metrics with the same labelset`},
		{`count_over_time({__name__=~"m|m_copy"}[5m])`, `vector cannot contain metrics with the same labelset`},
		// Like Prometheus, functions over range vectors reject equal
		// labelsets even when the series never overlap in time.
		{`count_over_time({__name__=~"early|late"}[1m])`, `vector cannot contain metrics with the same labelset`},
		{`label_replace(m, "x", "$1", "job", "(")`, `invalid regular expression in label_replace(): (`},
		{`double_exponential_smoothing(m[5m], 2, 0.5)`, `invalid smoothing factor. Expected: 0 < sf < 1, got: 2.000000`},
	} {
		_, err := eng.Range(ctx, st, c.query, at(0), at(1000), time.Minute)
		requireError(t, c.query, err, promql.ErrExecution, c.msg)
	}

	// Operators merge equal labelsets that never share a step.
	res, err := eng.Range(ctx, st, `-{__name__=~"early|late"}`, at(0), at(1000), 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	want := promql.Matrix{{Metric: mustMetric(t, `{x="1"}`), Floats: []promql.FPoint{{T: 0, F: -1}, {T: ms(300), F: -2}, {T: ms(900), F: -3}}}}
	if ok, why := sameValue(res.Value, want); !ok {
		t.Errorf("merge: %s\n got: %s", why, res.Value)
	}
}

func TestRangeQueries(t *testing.T) {
	st := selectorStore(t)
	eng := promql.NewEngine(promql.EngineOpts{})
	ctx := context.Background()
	pts := func(pairs ...float64) []promql.FPoint {
		var out []promql.FPoint
		for i := 0; i < len(pairs); i += 2 {
			out = append(out, promql.FPoint{T: ms(pairs[i]), F: pairs[i+1]})
		}
		return out
	}
	for _, c := range []struct {
		query           string
		start, end, stp float64
		want            promql.Matrix
	}{
		{`foo{a="3"}`, 0, 540, 60, promql.Matrix{{Metric: mustMetric(t, `foo{a="3",b="x"}`), Floats: pts(0, 1, 60, 2, 180, 4, 240, 4, 300, 4, 360, 4, 420, 4)}}},
		{`foo{a="2"}`, 0, 600, 150, promql.Matrix{{Metric: mustMetric(t, `foo{a="2",b="y"}`), Floats: pts(0, 100, 150, 100, 450, 70, 600, 70)}}},
		{`time()`, 0, 120, 60, promql.Matrix{{Metric: labels.EmptyLabels(), Floats: pts(0, 0, 60, 60, 120, 120)}}},
		{`1 + 1`, 0, 60, 30, promql.Matrix{{Metric: labels.EmptyLabels(), Floats: pts(0, 2, 30, 2, 60, 2)}}},
		{`rate(foo{a="1"}[2m])`, 120, 600, 240, promql.Matrix{{Metric: mustMetric(t, `{a="1",b="x"}`), Floats: pts(120, 1.0/6, 360, 1.0/6, 600, 1.0/6)}}},
		{`sum by (b) (foo)`, 0, 120, 60, promql.Matrix{
			{Metric: mustMetric(t, `{b="x"}`), Floats: pts(0, 1, 60, 12, 120, 20)},
			{Metric: mustMetric(t, `{b="y"}`), Floats: pts(0, 100, 60, 100, 120, 100)},
		}},
		{`nothing`, 0, 60, 30, promql.Matrix{}},
	} {
		res, err := eng.Range(ctx, st, c.query, at(c.start), at(c.end), time.Duration(c.stp*float64(time.Second)))
		if err != nil {
			t.Errorf("%s: %v", c.query, err)
			continue
		}
		if ok, why := sameValue(res.Value, c.want); !ok {
			t.Errorf("%s: %s\n got: %s\nwant: %s", c.query, why, res.Value, c.want)
		}
	}
}

func TestBadData(t *testing.T) {
	st := selectorStore(t)
	eng := promql.NewEngine(promql.EngineOpts{})
	ctx := context.Background()
	for _, c := range []struct{ query, msg string }{
		{`foo{`, `1:5: parse error: unexpected end of input inside braces`},
		{`sum(foo`, `1:8: parse error: unclosed left parenthesis`},
		{"sum(\n  rate(foo[5m]) +)", `2:18: parse error: unexpected ")" in aggregation`},
		{`foo[5m] offset (1m / 0)`, `1:20: parse error: division by zero`},
		{`rate(foo[1m - 2m])`, `9:16: duration must be greater than 0`},
	} {
		_, err := eng.Instant(ctx, st, c.query, at(100))
		requireError(t, c.query, err, promql.ErrBadData, c.msg)
	}

	rangeCases := []struct {
		query      string
		start, end float64
		step       time.Duration
		msg        string
	}{
		{`foo`, 100, 99, time.Second, `end timestamp must not be before start time`},
		{`foo`, 0, 100, 0, `zero or negative query resolution step widths are not accepted. Try a positive integer`},
		{`foo`, 0, 100, -time.Second, `zero or negative query resolution step widths are not accepted. Try a positive integer`},
		{`foo`, 0, 11001, time.Second, `exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)`},
		{`foo[5m]`, 0, 100, time.Second, `invalid expression type "range vector" for range query, must be Scalar or instant Vector`},
		{`"foo"`, 0, 100, time.Second, `invalid expression type "string" for range query, must be Scalar or instant Vector`},
	}
	for _, c := range rangeCases {
		_, err := eng.Range(ctx, st, c.query, at(c.start), at(c.end), c.step)
		requireError(t, c.query, err, promql.ErrBadData, c.msg)
	}
	// 11000 intervals (11001 points) is still allowed, as in Prometheus.
	if _, err := eng.Range(ctx, st, `foo`, at(0), at(11000), time.Second); err != nil {
		t.Errorf("11000 steps: %v", err)
	}
}

func TestTimeoutAndCancel(t *testing.T) {
	st := selectorStore(t)

	_, err := promql.NewEngine(promql.EngineOpts{Timeout: time.Nanosecond}).Instant(context.Background(), st, `foo`, at(100))
	requireError(t, "timeout", err, promql.ErrTimeout, "query timed out in query execution")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("timeout error does not wrap context.DeadlineExceeded: %v", err)
	}

	eng := promql.NewEngine(promql.EngineOpts{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = eng.Range(ctx, st, `rate(foo[5m])`, at(0), at(600), time.Minute)
	requireError(t, "canceled", err, promql.ErrCanceled, "query was canceled in query execution")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancel error does not wrap context.Canceled: %v", err)
	}

	// Canceled while the evaluation is reading storage.
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	_, err = eng.Instant(ctx, cancelingQueryable{st, cancel}, `sum(foo)`, at(100))
	requireError(t, "canceled mid-query", err, promql.ErrCanceled, "query was canceled in expression evaluation")
}

// cancelingQueryable cancels the query's context on the first Select.
type cancelingQueryable struct {
	q      storage.Queryable
	cancel context.CancelFunc
}

func (c cancelingQueryable) Querier(mint, maxt int64) (storage.Querier, error) {
	q, err := c.q.Querier(mint, maxt)
	return cancelingQuerier{q, c.cancel}, err
}

type cancelingQuerier struct {
	storage.Querier
	cancel context.CancelFunc
}

func (c cancelingQuerier) Select(ctx context.Context, h *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	c.cancel()
	return c.Querier.Select(ctx, h, ms...)
}

func TestMaxSamples(t *testing.T) {
	st := selectorStore(t)
	const msg = "query processing would load too many samples into memory in query execution"
	ctx := context.Background()
	for _, c := range []struct {
		query string
		max   int
		rng   bool
		fail  bool
	}{
		{`foo`, 2, false, false},                              // 2 series present at 150s
		{`foo`, 1, false, true},                               // one too many
		{`foo{a="1"}`, 10, true, false},                       // 10 steps
		{`foo{a="1"}`, 9, true, true},                         //
		{`sum(foo{a="1"})`, 10, true, false},                  // the input is the peak
		{`sum(foo{a="1"})`, 9, true, true},                    //
		{`count_over_time(foo{a="1"}[10m])`, 3, false, false}, // 3 raw samples in the window
		{`count_over_time(foo{a="1"}[10m])`, 2, false, true},  //
		{`foo{a="1"}[10m]`, 2, false, true},                   // a range vector result counts its points
	} {
		eng := promql.NewEngine(promql.EngineOpts{MaxSamples: c.max})
		var err error
		if c.rng {
			_, err = eng.Range(ctx, st, c.query, at(60), at(600), time.Minute)
		} else {
			_, err = eng.Instant(ctx, st, c.query, at(150))
		}
		switch {
		case c.fail:
			requireError(t, c.query, err, promql.ErrExecution, msg)
		case err != nil:
			t.Errorf("%s with MaxSamples=%d: %v", c.query, c.max, err)
		}
	}
}

func TestValueStrings(t *testing.T) {
	m := mustMetric(t, `foo{a="1"}`)
	for _, c := range []struct {
		v    promql.Value
		typ  parser.ValueType
		want string
	}{
		{promql.Scalar{T: 1000, V: 1.5}, parser.ValueTypeScalar, `scalar: 1.5 @[1000]`},
		{promql.String{T: 1000, V: "x"}, parser.ValueTypeString, `x`},
		{promql.Vector{{Metric: m, T: 1000, F: 2}}, parser.ValueTypeVector, `{__name__="foo", a="1"} => 2 @[1000]`},
		{promql.Matrix{{Metric: m, Floats: []promql.FPoint{{T: 0, F: 1}, {T: 60000, F: 2}}}}, parser.ValueTypeMatrix, "{__name__=\"foo\", a=\"1\"} =>\n1 @[0]\n2 @[60000]"},
	} {
		if got := c.v.String(); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
		if c.v.Type() != c.typ {
			t.Errorf("%s: type %s, want %s", c.want, c.v.Type(), c.typ)
		}
	}
}

// BenchmarkRangeQuery: 200 series scraped every 15s for a day, evaluated
// over the whole day at a 15s step.
func BenchmarkRangeQuery(b *testing.B) {
	st := memstore.New()
	app := st.Appender(context.Background())
	const day = 24 * 3600 * 1000
	for s := range 200 {
		lset := labels.FromStrings("__name__", "req_total", "job", string(rune('a'+s%4)), "instance", string(rune('A'+s/4)))
		v := 0.0
		for ts := int64(0); ts < day; ts += 15000 {
			v += float64(ts % 7)
			if _, err := app.Append(0, lset, ts, v); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := app.Commit(); err != nil {
		b.Fatal(err)
	}
	eng := promql.NewEngine(promql.EngineOpts{})
	for _, q := range []string{`req_total`, `sum by (job) (rate(req_total[5m]))`, `req_total / on(job, instance) req_total offset 1h`} {
		b.Run(q, func(b *testing.B) {
			for b.Loop() {
				if _, err := eng.Range(context.Background(), st, q, at(0), at(day/1000), 15*time.Second); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
