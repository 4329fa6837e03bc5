package promql_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	prom "github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/util/almost"

	"github.com/graftlabs/graft/pkg/promql"
	"github.com/graftlabs/graft/pkg/promql/promcompat"
	"github.com/graftlabs/graft/pkg/storage/memstore"
)

// The differential test evaluates queries with Graft's engine and with
// Prometheus's, over the same data, and requires the same answers: values
// (within float tolerance), labels, errors and annotations. The queries are
// a fixed list plus random ones drawn from a grammar of PromQL.
//
// CI runs a fixed seed and a few hundred random queries; for a longer run:
//
//	GRAFT_DIFF_QUERIES=20000 GRAFT_DIFF_SEED=7 go test ./pkg/promql -run TestDifferential

var samplesCount = regexp.MustCompile(`over -?\d+ samples`)

// diffQueries are evaluated by both engines, instant and range.
var diffQueries = []string{
	`http_requests_total`,
	`http_requests_total{job="api"}`,
	`http_requests_total{method!="get"}`,
	`http_requests_total{instance=~"0|2"}`,
	`node_temp offset 5m`,
	`node_temp offset -3m`,
	`node_temp @ 3000`,
	`node_temp @ start()`,
	`node_temp @ end()`,
	`rate(http_requests_total[5m])`,
	`increase(http_requests_total[10m])`,
	`irate(http_requests_total[1m])`,
	`delta(node_temp[10m])`,
	`rate(http_requests_total[5m] @ 3600)`,
	`sum by (job) (rate(http_requests_total[5m]))`,
	`histogram_quantile(0.9, sum by (le) (rate(latency_seconds_bucket[5m])))`,
	`histogram_quantile(0.5, rate(rpc_latency_seconds[5m]))`,
	`histogram_count(rpc_latency_seconds)`,
	`sum(rate(rpc_latency_seconds[5m]))`,
	`topk(2, node_temp)`,
	`bottomk by (zone) (1, node_temp)`,
	`quantile(0.3, node_temp)`,
	`count_values("v", up)`,
	`max_over_time(sum(node_temp)[10m:1m])`,
	`rate(http_requests_total[5m:30s])`,
	`label_replace(node_temp, "z", "$1", "zone", "(.*)")`,
	`node_temp{zone="a"} - ignoring(zone) node_temp{zone="b"}`,
	`up * on(instance) group_left(zone) node_temp`,
	`http_requests_total and on(instance) (up == 1)`,
	`node_temp or sparse_gauge`,
	`absent(nonexistent)`,
	`absent_over_time(sparse_gauge[1m])`,
	`predict_linear(node_temp[10m], 600)`,
	`deriv(node_temp[10m])`,
	`changes(stale_series[10m])`,
	`resets(http_requests_total[30m])`,
	`timestamp(sparse_gauge)`,
	`scalar(sum(up))`,
	`vector(time())`,
	`-node_temp`,
	`node_temp > bool 20`,
	`count(up == 0) by (job)`,
	// Repeated subexpressions are evaluated once (cse.go): operators that
	// rewrite an operand in place must not change the other uses.
	`sum(rate(http_requests_total[5m])) * 2 + sum(rate(http_requests_total[5m]))`,
	`rate(http_requests_total[5m]) - rate(http_requests_total[5m]) * 0.5 + rate(http_requests_total[5m])`,
	`sum(rate(rpc_latency_seconds[5m])) + sum(rate(rpc_latency_seconds[5m]))`,
	`histogram_count(sum(rate(rpc_latency_seconds[5m]))) + histogram_sum(sum(rate(rpc_latency_seconds[5m])))`,
	`histogram_quantile(0.9, sum(rate(rpc_latency_seconds[5m]))) / histogram_count(sum(rate(rpc_latency_seconds[5m])))`,
	`histogram_count(sum(rate(rpc_latency_seconds[5m]))) * histogram_quantile(0.9, sum(rate(rpc_latency_seconds[5m])))`,
	`-sum by (zone) (node_temp) + abs(sum by (zone) (node_temp)) > bool sum by (zone) (node_temp)`,
	`label_replace(sum by (job) (up), "x", "1", "", "") or sum by (job) (up)`,
	`max_over_time(sum(node_temp)[10m:1m]) - sum(node_temp)`,
	// Errors must match too.
	`node_temp + on() node_temp`,
	`abs({__name__=~"node_temp|sparse_gauge"})`,
	`rate({__name__=~"node_temp|sparse_gauge"}[5m])`,
}

// instantOnly are range-vector and string expressions.
var instantOnly = []string{
	`http_requests_total[5m]`,
	`node_temp[2m] offset 1m`,
	`sparse_gauge[20m] @ 3000`,
	`rpc_latency_seconds[1m]`,
	`sum(node_temp)[10m:2m]`,
	`"hello"`,
}

func TestDifferential(t *testing.T) {
	seed, queries := uint64(42), 300
	if v, err := strconv.ParseUint(os.Getenv("GRAFT_DIFF_SEED"), 10, 64); err == nil {
		seed = v
	}
	if v, err := strconv.Atoi(os.Getenv("GRAFT_DIFF_QUERIES")); err == nil {
		queries = v
	}
	st := randomStore(t, seed)
	for _, delayed := range []bool{false, true} {
		t.Run(fmt.Sprintf("delayed_name_removal=%t", delayed), func(t *testing.T) {
			differential(t, newDiffer(st, delayed), seed, queries)
		})
	}
}

// differential compares the fixed queries and queries random ones.
func differential(t *testing.T, d *differ, seed uint64, queries int) {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b9))

	for _, q := range diffQueries {
		d.instant(t, q, rng)
		d.rangeQuery(t, q, rng)
	}
	for _, q := range instantOnly {
		d.instant(t, q, rng)
	}
	g := &queryGen{rng: rng}
	for range queries {
		q := g.vector(3)
		d.instant(t, q, rng)
		d.rangeQuery(t, q, rng)
	}
	t.Logf("seed %d: compared %d results, %d non-empty, %d errors on both sides", seed, d.compared, d.nonEmpty, d.errors)
	if d.nonEmpty < d.compared/2 {
		t.Errorf("only %d of %d results are non-empty: the data does not exercise the queries", d.nonEmpty, d.compared)
	}
}

// differ runs a query on both engines and compares.
type differ struct {
	st                         *promcompat.Storage
	ours                       *promcompat.Engine
	ref                        *prom.Engine
	compared, nonEmpty, errors int
}

const diffEnd = 2 * 3600 // seconds of data

func newDiffer(st *memstore.Store, delayedNameRemoval bool) *differ {
	return &differ{
		st:   promcompat.NewStorage(st),
		ours: promcompat.NewEngine(promql.NewEngine(promql.EngineOpts{EnableDelayedNameRemoval: delayedNameRemoval})),
		ref: prom.NewEngine(prom.EngineOpts{
			MaxSamples:               50_000_000,
			Timeout:                  time.Minute,
			EnableAtModifier:         true,
			EnableNegativeOffset:     true,
			EnableDelayedNameRemoval: delayedNameRemoval,
			NoStepSubqueryIntervalFn: func(int64) int64 { return time.Minute.Milliseconds() },
			Parser:                   parser.NewParser(promql.AllFeatures),
		}),
	}
}

func (d *differ) instant(t *testing.T, q string, rng *rand.Rand) {
	t.Helper()
	ts := time.UnixMilli(rng.Int64N(diffEnd*1000 + 600_000))
	ctx := context.Background()
	want, werr := d.ref.NewInstantQuery(ctx, d.st, nil, q, ts)
	got, gerr := d.ours.NewInstantQuery(ctx, d.st, nil, q, ts)
	name := fmt.Sprintf("instant %s @%d", q, ts.UnixMilli())
	if werr != nil || gerr != nil {
		d.compareErrors(t, name, gerr, werr)
		return
	}
	d.compare(t, name, q, got.Exec(ctx), want.Exec(ctx))
}

func (d *differ) rangeQuery(t *testing.T, q string, rng *rand.Rand) {
	t.Helper()
	steps := []time.Duration{7 * time.Second, 15 * time.Second, 30 * time.Second, time.Minute, 5 * time.Minute}
	step := steps[rng.IntN(len(steps))]
	start := time.UnixMilli(rng.Int64N(diffEnd * 1000))
	end := start.Add(time.Duration(rng.Int64N(int64(90 * time.Minute))))
	ctx := context.Background()
	name := fmt.Sprintf("range %s [%d,%d,%s]", q, start.UnixMilli(), end.UnixMilli(), step)
	want, werr := d.ref.NewRangeQuery(ctx, d.st, nil, q, start, end, step)
	got, gerr := d.ours.NewRangeQuery(ctx, d.st, nil, q, start, end, step)
	if werr != nil || gerr != nil {
		d.compareErrors(t, name, gerr, werr)
		return
	}
	d.compare(t, name, q, got.Exec(ctx), want.Exec(ctx))
}

func (d *differ) compareErrors(t *testing.T, name string, got, want error) {
	t.Helper()
	d.compared++
	d.errors++
	if got == nil || want == nil || normalizeError(got) != normalizeError(want) {
		t.Errorf("%s: errors differ:\n got: %v\nwant: %v", name, got, want)
	}
}

// normalizeError drops the group and series a duplicate-series error
// names: with several, which Prometheus reports first depends on an
// evaluation order it does not define.
func normalizeError(err error) string {
	msg := err.Error()
	const dup = "found duplicate series for the match group"
	if strings.HasPrefix(msg, dup) {
		return dup
	}
	return msg
}

func (d *differ) compare(t *testing.T, name, query string, got, want *prom.Result) {
	t.Helper()
	if got.Err != nil || want.Err != nil {
		d.compareErrors(t, name, got.Err, want.Err)
		return
	}
	d.compared++
	if !resultEmpty(want.Value) {
		d.nonEmpty++
	}
	if why := diffValues(got.Value, want.Value); why != "" {
		t.Errorf("%s: %s\n got: %s\nwant: %s", name, why, got.Value, want.Value)
	}
	gw, gi := got.Warnings.AsStrings(query, 0, 0)
	ww, wi := want.Warnings.AsStrings(query, 0, 0)
	// Prometheus miscounts the samples of a monotonicity fix when it
	// merges annotations (the count doubles on every merge).
	for i := range wi {
		wi[i] = samplesCount.ReplaceAllString(wi[i], "over N samples")
	}
	for i := range gi {
		gi[i] = samplesCount.ReplaceAllString(gi[i], "over N samples")
	}
	slices.Sort(gw)
	slices.Sort(ww)
	slices.Sort(gi)
	slices.Sort(wi)
	if !slices.Equal(gw, ww) || !slices.Equal(gi, wi) {
		t.Errorf("%s: annotations differ:\n got: %q %q\nwant: %q %q", name, gw, gi, ww, wi)
	}
}

func resultEmpty(v parser.Value) bool {
	switch v := v.(type) {
	case prom.Vector:
		return len(v) == 0
	case prom.Matrix:
		return len(v) == 0
	}
	return false
}

// diffValues returns why two results differ, or "". Vectors are compared
// as sets; results that depend on sort order are compared in order.
func diffValues(got, want parser.Value) string {
	switch w := want.(type) {
	case prom.Scalar:
		g, ok := got.(prom.Scalar)
		if !ok || g.T != w.T || !sameFloat(g.V, w.V) {
			return "scalars differ"
		}
	case prom.String:
		if g, ok := got.(prom.String); !ok || g != w {
			return "strings differ"
		}
	case prom.Vector:
		g, ok := got.(prom.Vector)
		if !ok {
			return fmt.Sprintf("got %T, want a vector", got)
		}
		return diffMatrices(vectorAsMatrix(g), vectorAsMatrix(w))
	case prom.Matrix:
		g, ok := got.(prom.Matrix)
		if !ok {
			return fmt.Sprintf("got %T, want a matrix", got)
		}
		return diffMatrices(g, w)
	}
	return ""
}

func vectorAsMatrix(v prom.Vector) prom.Matrix {
	m := make(prom.Matrix, len(v))
	for i, s := range v {
		m[i] = prom.Series{Metric: s.Metric}
		if s.H != nil {
			m[i].Histograms = []prom.HPoint{{T: s.T, H: s.H}}
		} else {
			m[i].Floats = []prom.FPoint{{T: s.T, F: s.F}}
		}
	}
	return m
}

func diffMatrices(got, want prom.Matrix) string {
	byLabels := func(a, b prom.Series) int { return labels.Compare(a.Metric, b.Metric) }
	got, want = slices.Clone(got), slices.Clone(want)
	slices.SortFunc(got, byLabels)
	slices.SortFunc(want, byLabels)
	if len(got) != len(want) {
		return fmt.Sprintf("%d series, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if !labels.Equal(g.Metric, w.Metric) {
			return fmt.Sprintf("series %d is %s, want %s", i, g.Metric, w.Metric)
		}
		if len(g.Floats) != len(w.Floats) || len(g.Histograms) != len(w.Histograms) {
			return fmt.Sprintf("%s: %d floats and %d histograms, want %d and %d", w.Metric, len(g.Floats), len(g.Histograms), len(w.Floats), len(w.Histograms))
		}
		for k := range w.Floats {
			if g.Floats[k].T != w.Floats[k].T || !sameFloat(g.Floats[k].F, w.Floats[k].F) {
				return fmt.Sprintf("%s: point %d is %v, want %v", w.Metric, k, g.Floats[k], w.Floats[k])
			}
		}
		for k := range w.Histograms {
			if g.Histograms[k].T != w.Histograms[k].T || !sameHistogram(g.Histograms[k].H, w.Histograms[k].H) {
				return fmt.Sprintf("%s: histogram %d is %v, want %v", w.Metric, k, g.Histograms[k], w.Histograms[k])
			}
		}
	}
	return ""
}

func sameFloat(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return almost.Equal(a, b, 1e-9)
}

func sameHistogram(a, b *histogram.FloatHistogram) bool {
	a, b = a.Copy().Compact(0), b.Copy().Compact(0)
	if a.Schema != b.Schema || a.ZeroThreshold != b.ZeroThreshold || a.CounterResetHint != b.CounterResetHint ||
		!sameFloat(a.Count, b.Count) || !sameFloat(a.Sum, b.Sum) || !sameFloat(a.ZeroCount, b.ZeroCount) {
		return false
	}
	if !slices.Equal(a.PositiveSpans, b.PositiveSpans) || !slices.Equal(a.NegativeSpans, b.NegativeSpans) {
		return false
	}
	return slices.EqualFunc(a.PositiveBuckets, b.PositiveBuckets, sameFloat) &&
		slices.EqualFunc(a.NegativeBuckets, b.NegativeBuckets, sameFloat)
}

// queryGen draws random queries from a grammar of PromQL over the metrics
// of randomStore.
type queryGen struct{ rng *rand.Rand }

func (g *queryGen) pick(options ...string) string { return options[g.rng.IntN(len(options))] }

func (g *queryGen) vector(depth int) string {
	if depth <= 0 {
		return g.selector()
	}
	switch g.rng.IntN(10) {
	case 0, 1:
		return g.selector()
	case 2, 3:
		return g.rangeFunc(depth)
	case 4:
		return g.instantFunc(depth)
	case 5, 6:
		return g.aggregation(depth)
	case 7, 8:
		return g.binary(depth)
	default:
		return "-" + g.vector(depth-1)
	}
}

func (g *queryGen) scalar(depth int) string {
	if depth <= 0 {
		return g.number()
	}
	switch g.rng.IntN(6) {
	case 0:
		return "scalar(" + g.vector(depth-1) + ")"
	case 1:
		return "time()"
	case 2:
		return "(" + g.scalar(depth-1) + " " + g.pick("+", "-", "*", "/") + " " + g.number() + ")"
	}
	return g.number()
}

func (g *queryGen) number() string {
	return g.pick("0", "1", "2", "0.5", "-1", "10", "100", "NaN", "Inf", "-Inf", "1e3")
}

var genMetrics = map[string][]string{
	"http_requests_total":    {"job", "instance", "method"},
	"node_temp":              {"instance", "zone"},
	"sparse_gauge":           {"instance", "zone"},
	"up":                     {"job", "instance"},
	"stale_series":           {"instance"},
	"latency_seconds_bucket": {"job", "le"},
	"rpc_latency_seconds":    {"job", "instance"},
}

var genValues = map[string][]string{
	"job":      {"api", "web"},
	"instance": {"0", "1", "2"},
	"method":   {"get", "post"},
	"zone":     {"a", "b"},
	"le":       {"0.1", "0.5", "1", "+Inf"},
}

func (g *queryGen) metric() string {
	names := slices.Sorted(mapKeys(genMetrics))
	return names[g.rng.IntN(len(names))]
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func (g *queryGen) selector() string {
	name := g.metric()
	var ms []string
	for _, l := range genMetrics[name] {
		if g.rng.IntN(4) != 0 {
			continue
		}
		vals := genValues[l]
		v := vals[g.rng.IntN(len(vals))]
		switch g.rng.IntN(4) {
		case 0:
			ms = append(ms, fmt.Sprintf("%s=%q", l, v))
		case 1:
			ms = append(ms, fmt.Sprintf("%s!=%q", l, v))
		case 2:
			ms = append(ms, fmt.Sprintf("%s=~%q", l, v+"|"+vals[0]))
		default:
			ms = append(ms, fmt.Sprintf("%s!~%q", l, v))
		}
	}
	s := name
	if len(ms) > 0 {
		s += "{" + strings.Join(ms, ",") + "}"
	}
	return s + g.modifiers()
}

func (g *queryGen) modifiers() string {
	switch g.rng.IntN(8) {
	case 0:
		return " offset " + g.pick("1m", "5m", "-2m", "90s")
	case 1:
		return " @ " + strconv.Itoa(g.rng.IntN(diffEnd))
	case 2:
		return " @ " + g.pick("start()", "end()")
	}
	return ""
}

func (g *queryGen) rangeArg(depth int) string {
	rng := g.pick("1m", "2m", "5m", "10m", "30s", "1h")
	if depth > 1 && g.rng.IntN(4) == 0 {
		return "(" + g.vector(depth-1) + ")[" + rng + ":" + g.pick("", "15s", "1m", "2m") + "]"
	}
	name := g.metric()
	return name + "[" + rng + "]" + g.modifiers()
}

func (g *queryGen) rangeFunc(depth int) string {
	return g.rangeFuncOver(g.rangeArg(depth))
}

func (g *queryGen) rangeFuncOver(arg string) string {
	fn := g.pick("rate", "irate", "increase", "delta", "idelta", "avg_over_time", "sum_over_time",
		"min_over_time", "max_over_time", "count_over_time", "last_over_time", "first_over_time",
		"stddev_over_time", "stdvar_over_time", "present_over_time", "changes", "resets", "deriv",
		"absent_over_time", "mad_over_time", "ts_of_max_over_time", "ts_of_last_over_time")
	switch g.rng.IntN(8) {
	case 0:
		return "quantile_over_time(" + g.pick("0", "0.5", "0.9", "1", "2") + ", " + arg + ")"
	case 1:
		return "predict_linear(" + arg + ", " + g.pick("60", "600", "-60") + ")"
	case 2:
		return "double_exponential_smoothing(" + arg + ", " + g.pick("0.3", "0.8") + ", " + g.pick("0.1", "0.5") + ")"
	}
	return fn + "(" + arg + ")"
}

func (g *queryGen) instantFunc(depth int) string {
	v := g.vector(depth - 1)
	switch g.rng.IntN(12) {
	case 0:
		return "round(" + v + ", " + g.pick("1", "0.1", "5") + ")"
	case 1:
		return "clamp(" + v + ", " + g.scalar(depth-1) + ", " + g.number() + ")"
	case 2:
		return `label_replace(` + v + `, "x", "$1-y", "instance", "(.*)")`
	case 3:
		return `label_join(` + v + `, "x", ",", "job", "zone")`
	case 4:
		return "histogram_quantile(" + g.pick("0.5", "0.99", "1.5") + ", " + v + ")"
	case 5:
		return "timestamp(" + v + ")"
	case 6:
		return "absent(" + v + ")"
	case 7:
		return g.pick("sort", "sort_desc") + "(" + v + ")"
	case 8:
		return "vector(" + g.scalar(depth-1) + ")"
	case 9:
		return g.pick("histogram_count", "histogram_sum", "histogram_avg", "histogram_stddev") + "(" + v + ")"
	}
	return g.pick("abs", "ceil", "floor", "exp", "ln", "sqrt", "sgn", "log2", "sin", "deg", "hour", "day_of_week") + "(" + v + ")"
}

func (g *queryGen) grouping() string {
	labelsFor := []string{"job", "instance", "zone", "le", "method"}
	var ls []string
	for _, l := range labelsFor {
		if g.rng.IntN(3) == 0 {
			ls = append(ls, l)
		}
	}
	switch g.rng.IntN(3) {
	case 0:
		return ""
	case 1:
		return " by (" + strings.Join(ls, ", ") + ")"
	}
	return " without (" + strings.Join(ls, ", ") + ")"
}

func (g *queryGen) aggregation(depth int) string {
	v := g.vector(depth - 1)
	switch g.rng.IntN(6) {
	case 0:
		// Which of equal values these keep depends on the input order,
		// which Prometheus only defines for selectors and functions over
		// them.
		arg := g.selector()
		if g.rng.IntN(2) == 0 {
			arg = g.rangeFuncOver(g.metric() + "[" + g.pick("1m", "5m") + "]")
		}
		return g.pick("topk", "bottomk", "limitk") + g.grouping() + " (" + g.pick("1", "2", "0", "100") + ", " + arg + ")"
	case 1:
		return "quantile" + g.grouping() + " (" + g.pick("0", "0.5", "0.99", "1", "-1") + ", " + v + ")"
	case 2:
		// Values become labels: round them, or float noise that depends
		// on evaluation order makes labels differ.
		return `count_values` + g.grouping() + ` ("value", round(` + v + `))`
	case 3:
		return "limit_ratio(" + g.pick("0.5", "-0.5", "1") + ", " + v + ")"
	}
	op := g.pick("sum", "avg", "min", "max", "count", "group", "stddev", "stdvar")
	return op + g.grouping() + " (" + v + ")"
}

func (g *queryGen) binary(depth int) string {
	switch g.rng.IntN(5) {
	case 0:
		return "(" + g.vector(depth-1) + " " + g.arith() + " " + g.scalar(depth-1) + ")"
	case 1:
		return "(" + g.scalar(depth-1) + " " + g.arith() + " " + g.vector(depth-1) + ")"
	case 2:
		return "(" + g.vector(depth-1) + " " + g.pick("and", "or", "unless") + g.matching(false) + " " + g.vector(depth-1) + ")"
	}
	op := g.arith()
	return "(" + g.vector(depth-1) + " " + op + g.matching(true) + " " + g.vector(depth-1) + ")"
}

func (g *queryGen) arith() string {
	op := g.pick("+", "-", "*", "/", "%", "^", "atan2", "==", "!=", ">", "<", ">=", "<=")
	switch op {
	case "==", "!=", ">", "<", ">=", "<=":
		if g.rng.IntN(2) == 0 {
			op += " bool"
		}
	}
	return op
}

func (g *queryGen) matching(groups bool) string {
	labelsFor := []string{"job", "instance", "zone"}
	var ls []string
	for _, l := range labelsFor {
		if g.rng.IntN(2) == 0 {
			ls = append(ls, l)
		}
	}
	m := ""
	switch g.rng.IntN(3) {
	case 0:
		return ""
	case 1:
		m = " on(" + strings.Join(ls, ", ") + ")"
	default:
		m = " ignoring(" + strings.Join(ls, ", ") + ")"
	}
	if groups {
		switch g.rng.IntN(4) {
		case 0:
			m += " group_left"
		case 1:
			m += " group_right(" + g.pick("zone", "method", "") + ")"
		}
	}
	return m
}

// randomStore builds two hours of data with everything the engine must get
// right: counters with resets, series starting late and ending early with a
// stale marker, jittered scrapes, gaps longer than the lookback, NaN and
// infinities, classic and native histograms.
func randomStore(t testing.TB, seed uint64) *memstore.Store {
	rng := rand.New(rand.NewPCG(seed, seed))
	st := memstore.New()
	const end = diffEnd * 1000
	app := &diffLoader{t: t, st: st}

	for _, job := range genValues["job"] {
		for _, inst := range genValues["instance"] {
			for _, method := range genValues["method"] {
				lset := labels.FromStrings("__name__", "http_requests_total", "job", job, "instance", inst, "method", method)
				startT := int64(rng.IntN(4)) * 10 * 60 * 1000
				stopT := int64(end)
				if rng.IntN(3) == 0 {
					stopT = end - int64(rng.IntN(30))*60*1000
				}
				v := float64(rng.IntN(100))
				for ts := startT; ts < stopT; ts += 15000 {
					if rng.IntN(100) == 0 {
						v = float64(rng.IntN(5)) // counter reset
					} else {
						v += float64(rng.IntN(20))
					}
					app.float(lset, ts+int64(rng.IntN(2000)), v)
				}
				if stopT < end {
					app.float(lset, stopT+15000, math.Float64frombits(value.StaleNaN))
				}
			}
			up := labels.FromStrings("__name__", "up", "job", job, "instance", inst)
			for ts := int64(0); ts < end; ts += 30000 {
				app.float(up, ts, float64(min(1, rng.IntN(8))))
			}
			nh := labels.FromStrings("__name__", "rpc_latency_seconds", "job", job, "instance", inst)
			h := &histogram.Histogram{Schema: 1, ZeroThreshold: 0.001, PositiveSpans: []histogram.Span{{Offset: -2, Length: 4}}, PositiveBuckets: []int64{1, 0, 0, 0}}
			for ts := int64(rng.IntN(60000)); ts < end; ts += 30000 {
				if rng.IntN(60) == 0 {
					h = &histogram.Histogram{Schema: 1, ZeroThreshold: 0.001, PositiveSpans: []histogram.Span{{Offset: -2, Length: 4}}, PositiveBuckets: []int64{0, 0, 0, 0}}
				}
				next := h.Copy()
				inc := int64(rng.IntN(4))
				next.PositiveBuckets[0] += inc
				next.ZeroCount += uint64(rng.IntN(2))
				next.Count = next.ZeroCount + uint64(countBuckets(next.PositiveBuckets))
				next.Sum += float64(inc) * 0.3
				h = next
				app.histogram(nh, ts, h.Copy())
			}
		}
		cum := 0.0
		bounds := genValues["le"]
		counts := make([]float64, len(bounds))
		for ts := int64(0); ts < end; ts += 15000 {
			cum = 0
			for i, le := range bounds {
				counts[i] += float64(rng.IntN(3))
				cum = max(cum, counts[i])
				counts[i] = cum
				app.float(labels.FromStrings("__name__", "latency_seconds_bucket", "job", job, "le", le), ts, counts[i])
			}
		}
	}

	for _, inst := range genValues["instance"] {
		for _, zone := range genValues["zone"] {
			lset := labels.FromStrings("__name__", "node_temp", "instance", inst, "zone", zone)
			v := 20.0
			for ts := int64(0); ts < end; ts += 20000 + int64(rng.IntN(5000)) {
				v += rng.NormFloat64()
				f := math.Round(v*1000) / 1000
				switch rng.IntN(300) {
				case 0:
					f = math.NaN()
				case 1:
					f = math.Inf(1)
				}
				app.float(lset, ts, f)
			}
			sparse := labels.FromStrings("__name__", "sparse_gauge", "instance", inst, "zone", zone)
			for ts := int64(rng.IntN(300000)); ts < end; ts += int64(180000 + rng.IntN(420000)) {
				app.float(sparse, ts, float64(rng.IntN(50)))
			}
		}
		lset := labels.FromStrings("__name__", "stale_series", "instance", inst)
		v := 0.0
		for ts := int64(0); ts < end; ts += 15000 {
			if rng.IntN(40) == 0 {
				app.float(lset, ts, math.Float64frombits(value.StaleNaN))
				ts += int64(rng.IntN(20)) * 15000
				continue
			}
			v += float64(rng.IntN(10))
			app.float(lset, ts, v)
		}
	}
	return st
}

func countBuckets(deltas []int64) int64 {
	var n, cur int64
	for _, d := range deltas {
		cur += d
		n += cur
	}
	return n
}

// diffLoader appends to a memstore, failing the test on errors.
type diffLoader struct {
	t  testing.TB
	st *memstore.Store
}

func (l *diffLoader) float(lset labels.Labels, ts int64, v float64) {
	app := l.st.Appender(context.Background())
	if _, err := app.Append(0, lset, ts, v); err != nil {
		l.t.Fatalf("append %s@%d: %v", lset, ts, err)
	}
	if err := app.Commit(); err != nil {
		l.t.Fatal(err)
	}
}

func (l *diffLoader) histogram(lset labels.Labels, ts int64, h *histogram.Histogram) {
	app := l.st.Appender(context.Background())
	if _, err := app.AppendHistogram(0, lset, ts, h, nil); err != nil {
		l.t.Fatalf("append %s@%d: %v", lset, ts, err)
	}
	if err := app.Commit(); err != nil {
		l.t.Fatal(err)
	}
}
