package promql

import (
	"fmt"
	"math"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/util/annotations"
)

// evalCall dispatches a function call: range functions slide windows over
// series; the rest work on evaluated instant vectors and scalars.
func (ev *evaluator) evalCall(e *parser.Call) (any, error) {
	name := e.Func.Name
	if name == "timestamp" || name == "start_timestamp" {
		if vs, ok := e.Args[0].(*parser.VectorSelector); ok {
			return ev.timestampOfSelector(vs, name)
		}
	}
	for i, a := range e.Args {
		switch a.(type) {
		case *parser.MatrixSelector, *parser.SubqueryExpr:
			return ev.evalRangeFunc(e, i)
		}
	}
	switch name {
	case "label_replace":
		return ev.labelReplace(e.Args)
	case "label_join":
		return ev.labelJoin(e.Args)
	case "info":
		return ev.evalInfo(e.Args)
	case "sort", "sort_desc", "sort_by_label", "sort_by_label_desc":
		return ev.evalSort(e)
	case "histogram_quantile", "histogram_quantiles", "histogram_fraction":
		return ev.evalHistogramQuantiles(e)
	}
	if f, ok := scalarFuncs[name]; ok {
		return ev.evalScalarFunc(e, f)
	}
	if f, ok := mathFuncs[name]; ok {
		return ev.mapFloats(e.Args[0], func(_ int, v float64) float64 { return f(v) })
	}
	if f, ok := dateFuncs[name]; ok {
		return ev.evalDateFunc(e, f)
	}
	if f, ok := histogramStatFuncs[name]; ok {
		return ev.mapHistograms(e.Args[0], f)
	}
	switch name {
	case "round":
		return ev.evalRound(e)
	case "clamp", "clamp_min", "clamp_max":
		return ev.evalClamp(e)
	case "vector":
		return ev.evalVectorFunc(e)
	case "scalar":
		return ev.evalScalarOf(e)
	case "absent":
		return ev.evalAbsent(e)
	case "timestamp":
		return ev.timestampOfVector(e.Args[0])
	case "start_timestamp":
		// Start timestamps survive only a plain selector argument.
		if _, err := ev.evalVector(e.Args[0]); err != nil {
			return nil, err
		}
		return Matrix{}, nil
	}
	return nil, fmt.Errorf("function %q is not implemented", name)
}

var mathFuncs = map[string]func(float64) float64{
	"abs":   math.Abs,
	"ceil":  math.Ceil,
	"floor": math.Floor,
	"exp":   math.Exp,
	"sqrt":  math.Sqrt,
	"ln":    math.Log,
	"log2":  math.Log2,
	"log10": math.Log10,
	"sin":   math.Sin,
	"cos":   math.Cos,
	"tan":   math.Tan,
	"asin":  math.Asin,
	"acos":  math.Acos,
	"atan":  math.Atan,
	"sinh":  math.Sinh,
	"cosh":  math.Cosh,
	"tanh":  math.Tanh,
	"asinh": math.Asinh,
	"acosh": math.Acosh,
	"atanh": math.Atanh,
	"rad":   func(v float64) float64 { return v * math.Pi / 180 },
	"deg":   func(v float64) float64 { return v * 180 / math.Pi },
	"sgn": func(v float64) float64 {
		switch {
		case v < 0:
			return -1
		case v > 0:
			return 1
		}
		return v
	},
}

// mapFloats applies f to every float sample of the argument (f also gets
// the step index); histogram samples are dropped, and so is the metric name.
func (ev *evaluator) mapFloats(arg parser.Expr, f func(step int, v float64) float64) (Matrix, error) {
	m, err := ev.evalVector(arg)
	if err != nil {
		return nil, err
	}
	for i := range m {
		s := &m[i]
		for k := range s.Floats {
			s.Floats[k].F = f(ev.stepOf(s.Floats[k].T), s.Floats[k].F)
		}
		s.Histograms = nil
		ev.markDropName(s)
	}
	return mergeSameLabels(compactEmpty(m))
}

func (ev *evaluator) evalRound(e *parser.Call) (Matrix, error) {
	toNearest := ev.constScalar(1)
	if len(e.Args) > 1 {
		var err error
		if toNearest, err = ev.evalScalar(e.Args[1]); err != nil {
			return nil, err
		}
	}
	return ev.mapFloats(e.Args[0], func(step int, v float64) float64 {
		// Rounding against the inverse loses less precision.
		inv := 1.0 / toNearest[step]
		return math.Floor(v*inv+0.5) / inv
	})
}

// evalClamp clamps floats between per-step bounds; at a step where the
// maximum is below the minimum there is no output at all.
func (ev *evaluator) evalClamp(e *parser.Call) (Matrix, error) {
	lo, hi := ev.constScalar(math.Inf(-1)), ev.constScalar(math.Inf(1))
	var err error
	switch e.Func.Name {
	case "clamp":
		if lo, err = ev.evalScalar(e.Args[1]); err == nil {
			hi, err = ev.evalScalar(e.Args[2])
		}
	case "clamp_min":
		lo, err = ev.evalScalar(e.Args[1])
	case "clamp_max":
		hi, err = ev.evalScalar(e.Args[1])
	}
	if err != nil {
		return nil, err
	}
	m, err := ev.mapFloats(e.Args[0], func(step int, v float64) float64 {
		return math.Max(lo[step], math.Min(hi[step], v))
	})
	if err != nil {
		return nil, err
	}
	for i := range m {
		s := &m[i]
		kept := s.Floats[:0]
		for _, p := range s.Floats {
			if k := ev.stepOf(p.T); !(hi[k] < lo[k]) {
				kept = append(kept, p)
			}
		}
		s.Floats = kept
	}
	return compactEmpty(m), nil
}

// histogramStatFuncs read one statistic off each native histogram.
var histogramStatFuncs = map[string]func(h *histogramT) float64{
	"histogram_count":  func(h *histogramT) float64 { return h.Count },
	"histogram_sum":    func(h *histogramT) float64 { return h.Sum },
	"histogram_avg":    func(h *histogramT) float64 { return h.Sum / h.Count },
	"histogram_stddev": func(h *histogramT) float64 { return math.Sqrt(histogramVariance(h)) },
	"histogram_stdvar": histogramVariance,
}

// mapHistograms applies f to every histogram sample of the argument; float
// samples are dropped, and so is the metric name.
func (ev *evaluator) mapHistograms(arg parser.Expr, f func(h *histogramT) float64) (Matrix, error) {
	m, err := ev.evalVector(arg)
	if err != nil {
		return nil, err
	}
	for i := range m {
		s := &m[i]
		floats := make([]FPoint, len(s.Histograms))
		for k, p := range s.Histograms {
			floats[k] = FPoint{T: p.T, F: f(p.H)}
		}
		s.Floats, s.Histograms = floats, nil
		s.dropName = true
		if !ev.opts.delayedName {
			// Prometheus drops only the name here, not type and unit.
			s.Metric = s.Metric.DropMetricName()
		}
	}
	return mergeSameLabels(compactEmpty(m))
}

// histogramVariance estimates the variance of the observations in a native
// histogram from its buckets' midpoints (geometric for exponential buckets).
func histogramVariance(h *histogramT) float64 {
	mean := h.Sum / h.Count
	var variance, c float64
	it := h.AllBucketIterator()
	for it.Next() {
		b := it.At()
		if b.Count == 0 {
			continue
		}
		var v float64
		switch {
		case h.UsesCustomBuckets():
			v = (b.Upper + b.Lower) / 2.0
		case b.Lower <= 0 && b.Upper >= 0:
			v = 0
		default:
			v = math.Sqrt(b.Upper * b.Lower)
			if b.Upper < 0 {
				v = -v
			}
		}
		delta := v - mean
		variance, c = kahanInc(b.Count*delta*delta, variance, c)
	}
	variance += c
	return variance / h.Count
}

// scalarFuncs return a scalar computed from scalar arguments (or the time).
var scalarFuncs = map[string]func(ts int64, args []float64) float64{
	"time":   func(ts int64, _ []float64) float64 { return float64(ts) / 1000 },
	"pi":     func(int64, []float64) float64 { return math.Pi },
	"max_of": func(_ int64, a []float64) float64 { return math.Max(a[0], a[1]) },
	"min_of": func(_ int64, a []float64) float64 { return math.Min(a[0], a[1]) },
}

func (ev *evaluator) evalScalarFunc(e *parser.Call, f func(int64, []float64) float64) (scalarValue, error) {
	args := make([]scalarValue, len(e.Args))
	for i, a := range e.Args {
		v, err := ev.evalScalar(a)
		if err != nil {
			return nil, err
		}
		args[i] = v
	}
	out := make(scalarValue, ev.steps)
	vals := make([]float64, len(args))
	for k := range out {
		for i := range args {
			vals[i] = args[i][k]
		}
		out[k] = f(ev.ts(k), vals)
	}
	return out, nil
}

// evalVectorFunc turns a scalar into a one-series vector without labels.
func (ev *evaluator) evalVectorFunc(e *parser.Call) (Matrix, error) {
	v, err := ev.evalScalar(e.Args[0])
	if err != nil {
		return nil, err
	}
	s := Series{Metric: labels.EmptyLabels(), Floats: make([]FPoint, len(v))}
	for k, f := range v {
		s.Floats[k] = FPoint{T: ev.ts(k), F: f}
	}
	return Matrix{s}, nil
}

// evalScalarOf returns the value of the only float sample at each step, or
// NaN when there is not exactly one.
func (ev *evaluator) evalScalarOf(e *parser.Call) (scalarValue, error) {
	m, err := ev.evalVector(e.Args[0])
	if err != nil {
		return nil, err
	}
	out := make(scalarValue, ev.steps)
	count := make([]int, ev.steps)
	for _, s := range m {
		for _, p := range s.Floats {
			k := ev.stepOf(p.T)
			count[k]++
			out[k] = p.F
		}
	}
	for k, c := range count {
		if c != 1 {
			out[k] = math.NaN()
		}
	}
	return out, nil
}

// evalAbsent returns 1 at the steps where the argument has no sample.
func (ev *evaluator) evalAbsent(e *parser.Call) (Matrix, error) {
	m, err := ev.evalVector(e.Args[0])
	if err != nil {
		return nil, err
	}
	found := make([]bool, ev.steps)
	for _, s := range m {
		for _, p := range s.Floats {
			found[ev.stepOf(p.T)] = true
		}
		for _, p := range s.Histograms {
			found[ev.stepOf(p.T)] = true
		}
	}
	res := Series{Metric: absentLabels(e.Args[0])}
	for k, ok := range found {
		if !ok {
			res.Floats = append(res.Floats, FPoint{T: ev.ts(k), F: 1})
		}
	}
	if res.empty() {
		return Matrix{}, nil
	}
	return Matrix{res}, nil
}

// absentLabels are the labels absent() and absent_over_time() report: those
// that the selector matches with exactly one equality matcher.
func absentLabels(expr parser.Expr) labels.Labels {
	var ms []*labels.Matcher
	switch n := expr.(type) {
	case *parser.VectorSelector:
		ms = n.LabelMatchers
	case *parser.MatrixSelector:
		ms = n.VectorSelector.(*parser.VectorSelector).LabelMatchers
	default:
		return labels.EmptyLabels()
	}
	b := labels.NewBuilder(labels.EmptyLabels())
	// x{job="a",job="b"} reports no job at all: historic behaviour.
	has := make(map[string]bool, len(ms))
	for _, m := range ms {
		if m.Name == labels.MetricName {
			continue
		}
		if m.Type == labels.MatchEqual && !has[m.Name] {
			b.Set(m.Name, m.Value)
			has[m.Name] = true
		} else {
			b.Del(m.Name)
		}
	}
	return b.Labels()
}

// dateFuncs read a calendar field off a time (UTC).
var dateFuncs = map[string]func(time.Time) float64{
	"days_in_month": func(t time.Time) float64 {
		return float64(32 - time.Date(t.Year(), t.Month(), 32, 0, 0, 0, 0, time.UTC).Day())
	},
	"day_of_month": func(t time.Time) float64 { return float64(t.Day()) },
	"day_of_week":  func(t time.Time) float64 { return float64(t.Weekday()) },
	"day_of_year":  func(t time.Time) float64 { return float64(t.YearDay()) },
	"hour":         func(t time.Time) float64 { return float64(t.Hour()) },
	"minute":       func(t time.Time) float64 { return float64(t.Minute()) },
	"month":        func(t time.Time) float64 { return float64(t.Month()) },
	"year":         func(t time.Time) float64 { return float64(t.Year()) },
}

// evalDateFunc applies a calendar function to the sample values (seconds
// since the epoch), or to the evaluation time when called without argument.
func (ev *evaluator) evalDateFunc(e *parser.Call, f func(time.Time) float64) (Matrix, error) {
	if len(e.Args) == 0 {
		s := Series{Metric: labels.EmptyLabels(), Floats: make([]FPoint, ev.steps)}
		for k := range s.Floats {
			ts := ev.ts(k)
			s.Floats[k] = FPoint{T: ts, F: f(time.Unix(ts/1000, 0).UTC())}
		}
		return Matrix{s}, nil
	}
	return ev.mapFloats(e.Args[0], func(_ int, v float64) float64 {
		return f(time.Unix(int64(v), 0).UTC())
	})
}

// timestampOfSelector implements timestamp() and start_timestamp() over a
// selector: they report the picked sample's (start) timestamp.
func (ev *evaluator) timestampOfSelector(vs *parser.VectorSelector, name string) (Matrix, error) {
	mode := selectTimestamps
	if name == "start_timestamp" {
		mode = selectStartTimestamps
	}
	m, err := ev.evalVectorSelector(vs, mode)
	if err != nil {
		return nil, err
	}
	for i := range m {
		ev.markDropName(&m[i])
	}
	return mergeSameLabels(m)
}

// timestampOfVector implements timestamp() over any other expression, whose
// samples carry the evaluation time.
func (ev *evaluator) timestampOfVector(arg parser.Expr) (Matrix, error) {
	m, err := ev.evalVector(arg)
	if err != nil {
		return nil, err
	}
	for i := range m {
		s := &m[i]
		floats := make([]FPoint, 0, len(s.Floats)+len(s.Histograms))
		for _, p := range s.Floats {
			floats = append(floats, FPoint{T: p.T, F: float64(p.T) / 1000})
		}
		for _, p := range s.Histograms {
			floats = append(floats, FPoint{T: p.T, F: float64(p.T) / 1000})
		}
		if len(s.Histograms) > 0 {
			sortFPoints(floats)
		}
		s.Floats, s.Histograms = floats, nil
		ev.markDropName(s)
	}
	return mergeSameLabels(m)
}

func sortFPoints(p []FPoint) {
	for i := 1; i < len(p); i++ {
		for j := i; j > 0 && p[j].T < p[j-1].T; j-- {
			p[j], p[j-1] = p[j-1], p[j]
		}
	}
}

// sortInRangeWarning is added when sort functions are used in range queries,
// whose results are always ordered by labels.
func (ev *evaluator) sortInRangeWarning(e *parser.Call) {
	if !ev.instant() {
		ev.warn(annotations.NewSortInRangeQueryWarning(e.PositionRange()))
	}
}
