package promql

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/util/annotations"
)

// aggGroups maps input series to output groups, worked out once.
type aggGroups struct {
	of      []int           // group of each input series
	members [][]int         // input series of each group, in input order
	labels  []labels.Labels // output labels of each group
}

// groupSeries assigns every series to a group: by the `by` labels, or by
// all labels but the `without` ones and the metric name.
func groupSeries(in Matrix, grouping []string, without bool) *aggGroups {
	names := grouping
	if without {
		names = append(slices.Clip(grouping), labels.MetricName)
		slices.Sort(names)
	}
	g := &aggGroups{of: make([]int, len(in))}
	var (
		keys keyIndex
		buf  []byte
		b    labels.Builder
	)
	for i, s := range in {
		if without {
			buf = s.Metric.BytesWithoutLabels(buf, names...)
		} else {
			buf = s.Metric.BytesWithLabels(buf, names...)
		}
		k, isNew := keys.index(buf)
		if isNew {
			g.labels = append(g.labels, groupLabelsWith(&b, s.Metric, grouping, without))
		}
		g.of[i] = k
	}
	g.members = membersOf(g.of, len(g.labels))
	return g
}

// membersOf lists the input series of each group, in input order, in one
// shared array.
func membersOf(of []int, groups int) [][]int {
	members := make([][]int, groups)
	var cbuf [16]int
	counts := cbuf[:0]
	if groups > len(cbuf) {
		counts = make([]int, 0, groups)
	}
	counts = counts[:groups]
	for _, g := range of {
		counts[g]++
	}
	all := make([]int, len(of))
	for g, n := range counts {
		members[g], all = all[:0:n], all[n:]
	}
	for i, g := range of {
		members[g] = append(members[g], i)
	}
	return members
}

func groupLabels(m labels.Labels, grouping []string, without bool) labels.Labels {
	var b labels.Builder
	return groupLabelsWith(&b, m, grouping, without)
}

// groupLabelsWith is groupLabels with a builder to reuse.
func groupLabelsWith(b *labels.Builder, m labels.Labels, grouping []string, without bool) labels.Labels {
	switch {
	case without:
		b.Reset(m)
		b.Del(grouping...)
		b.Del(labels.MetricName)
		return b.Labels()
	case len(grouping) > 0:
		b.Reset(m)
		return b.Keep(grouping...).Labels()
	}
	return labels.EmptyLabels()
}

// Bounds of a topk/bottomk/limitk parameter: int64 as float.
const (
	maxInt64Float = 9223372036854774784
	minInt64Float = -9223372036854775808
)

// evalAggregate evaluates an aggregation. The parameter (k, q, ratio) is
// evaluated before the vector, as in Prometheus.
func (ev *evaluator) evalAggregate(e *parser.AggregateExpr) (Matrix, error) {
	if e.Op == parser.COUNT_VALUES {
		grouping := slices.Clone(e.Grouping) // countValues appends to it
		slices.Sort(grouping)
		return ev.countValues(e, grouping)
	}
	grouping := e.Grouping
	if !slices.IsSorted(grouping) {
		grouping = slices.Sorted(slices.Values(grouping))
	}
	var param scalarValue
	if e.Param != nil {
		var err error
		if param, err = ev.evalScalar(e.Param); err != nil {
			return nil, err
		}
	}
	in, err := ev.evalVector(e.Expr)
	if err != nil {
		return nil, err
	}
	groups := groupSeries(in, grouping, e.Without)
	switch e.Op {
	case parser.TOPK, parser.BOTTOMK, parser.LIMITK, parser.LIMIT_RATIO:
		if ok, err := ev.checkKParam(e, param); !ok || err != nil {
			return Matrix{}, err
		}
		return ev.aggregateK(e, param, in, groups)
	case parser.QUANTILE:
		checkQuantileParam(ev, e, param)
	}
	return ev.aggregateGroups(e, param, in, groups)
}

// paramRange returns the minimum and maximum of a parameter over all steps
// (NaN poisons both, as math.Min/Max do) and whether any value is NaN.
func paramRange(p scalarValue) (lo, hi float64, hasNaN bool) {
	lo, hi = math.MaxFloat64, -math.MaxFloat64
	for _, v := range p {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
		hasNaN = hasNaN || math.IsNaN(v)
	}
	return lo, hi, hasNaN
}

// checkKParam validates the parameter of topk, bottomk, limitk and
// limit_ratio; ok=false means the result is empty at every step.
func (ev *evaluator) checkKParam(e *parser.AggregateExpr, p scalarValue) (bool, error) {
	lo, hi, hasNaN := paramRange(p)
	if e.Op == parser.LIMIT_RATIO {
		if hi == 0 && lo == 0 {
			return false, nil
		}
		if hasNaN {
			return false, fmt.Errorf("Ratio value is NaN")
		}
		if hi > 1 {
			ev.warn(annotations.NewInvalidRatioWarning(hi, 1, e.Param.PositionRange()))
		}
		if lo < -1 {
			ev.warn(annotations.NewInvalidRatioWarning(lo, -1, e.Param.PositionRange()))
		}
		return true, nil
	}
	if hi < 1 {
		return false, nil
	}
	if hasNaN {
		return false, fmt.Errorf("Parameter value is NaN")
	}
	if lo <= minInt64Float {
		return false, fmt.Errorf("Scalar value %v underflows int64", lo)
	}
	if hi >= maxInt64Float {
		return false, fmt.Errorf("Scalar value %v overflows int64", hi)
	}
	return true, nil
}

func checkQuantileParam(ev *evaluator, e *parser.AggregateExpr, p scalarValue) {
	lo, hi, hasNaN := paramRange(p)
	pos := e.Param.PositionRange()
	if hasNaN {
		ev.warn(annotations.NewInvalidQuantileWarning(math.NaN(), pos))
	}
	if hi > 1 {
		ev.warn(annotations.NewInvalidQuantileWarning(hi, pos))
	}
	if lo < 0 {
		ev.warn(annotations.NewInvalidQuantileWarning(lo, pos))
	}
}

// aggregateGroups evaluates sum, avg, count, min, max, group, stddev,
// stdvar and quantile: each group folds its members' values step by step,
// in input order (the order Prometheus adds them in).
func (ev *evaluator) aggregateGroups(e *parser.AggregateExpr, param scalarValue, in Matrix, groups *aggGroups) (Matrix, error) {
	if floatAggregation(e.Op) && !hasHistograms(in) {
		return ev.aggregateFloats(e.Op, in, groups)
	}
	out := make(Matrix, len(groups.labels))
	view := newStepView(in)
	var annos annotations.Annotations
	pos := e.Expr.PositionRange()
	for g, members := range groups.members {
		if err := ev.checkCtx(); err != nil {
			return nil, err
		}
		res := Series{Metric: groups.labels[g]}
		var acc aggAcc
		for k := range ev.steps {
			ts := ev.ts(k)
			acc.reset()
			for _, i := range members {
				f, h, ok := view.at(i, ts)
				if ok {
					acc.add(e.Op, f, h, in[i].dropName, in[i].Metric, &annos, pos)
				}
			}
			q := 0.0
			if param != nil {
				q = param[k]
			}
			f, h, ok := acc.result(e.Op, q, &annos, pos)
			if !ok {
				continue
			}
			if h != nil {
				if cap(res.Histograms) == 0 {
					res.Histograms = ev.arena.hists(ev.steps - k)
				}
				res.Histograms = append(res.Histograms, HPoint{T: ts, H: h})
			} else {
				if cap(res.Floats) == 0 {
					res.Floats = ev.arena.floats(ev.steps - k)
				}
				res.Floats = append(res.Floats, FPoint{T: ts, F: f})
			}
			res.dropName = acc.dropName
		}
		res.Floats, res.Histograms = ev.arena.doneFloats(res.Floats), ev.arena.doneHists(res.Histograms)
		out[g] = res
	}
	ev.annotate(annos)
	return compactEmpty(out), nil
}

// aggAcc folds the values of one group at one step.
type aggAcc struct {
	seen                      bool
	f, mean, c                float64 // value (sum, min, max, M2), running mean, Kahan compensation
	h, hMean, hC              *histogram.FloatHistogram
	count                     float64
	values                    []float64 // quantile
	hasFloat, hasHistogram    bool
	incompatible              bool
	incrementalMean, hIncMean bool
	crt                       counterResetTracker
	dropName                  bool
}

func (a *aggAcc) reset() {
	values := a.values[:0]
	*a = aggAcc{values: values}
}

func (a *aggAcc) add(op parser.ItemType, f float64, h *histogram.FloatHistogram, dropName bool, metric labels.Labels, annos *annotations.Annotations, pos posrangeT) {
	if !a.seen {
		a.first(op, f, h, dropName, annos, pos)
		return
	}
	if a.incompatible {
		return
	}
	if dropName {
		a.dropName = true
	}
	switch op {
	case parser.SUM:
		a.addSum(f, h, metric, annos, pos)
	case parser.AVG:
		a.addAvg(f, h, metric, annos, pos)
	case parser.MAX:
		if h != nil {
			annos.Add(annotations.NewHistogramIgnoredInAggregationInfo("max", pos))
			return
		}
		if a.f < f || math.IsNaN(a.f) {
			a.f = f
		}
	case parser.MIN:
		if h != nil {
			annos.Add(annotations.NewHistogramIgnoredInAggregationInfo("min", pos))
			return
		}
		if a.f > f || math.IsNaN(a.f) {
			a.f = f
		}
	case parser.COUNT:
		a.count++
	case parser.STDVAR, parser.STDDEV:
		if h != nil {
			annos.Add(annotations.NewHistogramIgnoredInAggregationInfo(op.String(), pos))
			return
		}
		a.count++
		delta := f - a.mean
		a.mean += delta / a.count
		a.f += delta * (f - a.mean)
	case parser.QUANTILE:
		if h != nil {
			annos.Add(annotations.NewHistogramIgnoredInAggregationInfo("quantile", pos))
			return
		}
		a.values = append(a.values, f)
	}
}

// first initialises the group with its first value at this step.
func (a *aggAcc) first(op parser.ItemType, f float64, h *histogram.FloatHistogram, dropName bool, annos *annotations.Annotations, pos posrangeT) {
	values := a.values[:0]
	*a = aggAcc{seen: true, f: f, mean: f, count: 1, dropName: dropName}
	switch op {
	case parser.AVG, parser.SUM:
		if h == nil {
			a.hasFloat = true
		} else {
			a.h, a.hasHistogram = h.Copy(), true
			a.crt.see(h)
		}
	case parser.STDVAR, parser.STDDEV:
		switch {
		case h != nil:
			a.seen = false
			annos.Add(annotations.NewHistogramIgnoredInAggregationInfo(op.String(), pos))
		case math.IsNaN(f), math.IsInf(f, 0):
			a.f = math.NaN()
		default:
			a.f = 0
		}
	case parser.QUANTILE:
		if h != nil {
			a.seen = false
			annos.Add(annotations.NewHistogramIgnoredInAggregationInfo("quantile", pos))
		}
		values = append(values, f)
	case parser.GROUP:
		a.f = 1
	case parser.MIN, parser.MAX:
		if h != nil {
			a.seen = false
			annos.Add(annotations.NewHistogramIgnoredInAggregationInfo(op.String(), pos))
		}
	}
	a.values = values
}

func (a *aggAcc) addSum(f float64, h *histogram.FloatHistogram, metric labels.Labels, annos *annotations.Annotations, pos posrangeT) {
	if h == nil {
		a.hasFloat = true
		a.f, a.c = kahanInc(f, a.f, a.c)
		return
	}
	a.hasHistogram = true
	if a.h == nil {
		return // floats came first: the group is invalid anyway
	}
	a.crt.see(h)
	var reconciled bool
	var err error
	a.hC, _, reconciled, err = a.h.KahanAdd(h, a.hC)
	if err != nil {
		a.aggregationError(err, metric, annos, pos)
		return
	}
	if reconciled {
		annos.Add(annotations.NewMismatchedCustomBucketsHistogramsInfo(pos, annotations.HistogramAgg))
	}
}

// addAvg sums (Kahan-compensated) while the sum does not overflow, then
// switches to an incremental mean.
func (a *aggAcc) addAvg(f float64, h *histogram.FloatHistogram, metric labels.Labels, annos *annotations.Annotations, pos posrangeT) {
	a.count++
	if h == nil {
		a.hasFloat = true
		if !a.incrementalMean {
			sum, c := kahanInc(f, a.f, a.c)
			if !math.IsInf(sum, 0) {
				a.f, a.c = sum, c
				return
			}
			a.incrementalMean = true
			a.mean = a.f / (a.count - 1)
			a.c /= a.count - 1
		}
		q := (a.count - 1) / a.count
		a.mean, a.c = kahanInc(f/a.count, q*a.mean, q*a.c)
		return
	}
	a.hasHistogram = true
	if a.h == nil {
		return
	}
	a.crt.see(h)
	if !a.hIncMean {
		v := a.h.Copy()
		var c *histogram.FloatHistogram
		if a.hC != nil {
			c = a.hC.Copy()
		}
		c, _, reconciled, err := v.KahanAdd(h, c)
		if err != nil {
			a.aggregationError(err, metric, annos, pos)
			return
		}
		if reconciled {
			annos.Add(annotations.NewMismatchedCustomBucketsHistogramsInfo(pos, annotations.HistogramAgg))
		}
		if !v.HasOverflow() {
			a.h, a.hC = v, c
			return
		}
		a.hIncMean = true
		a.hMean = a.h.Copy().Div(a.count - 1)
		if a.hC != nil {
			a.hC.Div(a.count - 1)
		}
	}
	q := (a.count - 1) / a.count
	if a.hC != nil {
		a.hC.Mul(q)
	}
	toAdd := h.Copy().Div(a.count)
	var reconciled bool
	var err error
	a.hC, _, reconciled, err = a.hMean.Mul(q).KahanAdd(toAdd, a.hC)
	if err != nil {
		a.aggregationError(err, metric, annos, pos)
		return
	}
	if reconciled {
		annos.Add(annotations.NewMismatchedCustomBucketsHistogramsInfo(pos, annotations.HistogramAgg))
	}
}

func (a *aggAcc) aggregationError(err error, metric labels.Labels, annos *annotations.Annotations, pos posrangeT) {
	if incompatibleSchema(err) {
		annos.Add(annotations.NewMixedExponentialCustomHistogramsWarning(metric.Get(model.MetricNameLabel), pos))
	}
	a.incompatible = true
}

// result finishes the group's value at this step; ok=false means no output.
func (a *aggAcc) result(op parser.ItemType, q float64, annos *annotations.Annotations, pos posrangeT) (float64, *histogram.FloatHistogram, bool) {
	if !a.seen {
		return 0, nil, false
	}
	f, h := a.f, (*histogram.FloatHistogram)(nil)
	switch op {
	case parser.AVG:
		if a.hasFloat && a.hasHistogram {
			annos.Add(annotations.NewMixedFloatsHistogramsAggWarning(pos))
			return 0, nil, false
		}
		switch {
		case a.incompatible:
			return 0, nil, false
		case a.hasHistogram:
			h = a.histogramMean()
		case a.incrementalMean:
			f = a.mean + a.c
		default:
			f = a.f/a.count + a.c/a.count
		}
	case parser.COUNT:
		f = a.count
	case parser.STDVAR:
		f = a.f / a.count
	case parser.STDDEV:
		f = math.Sqrt(a.f / a.count)
	case parser.QUANTILE:
		f = quantile(q, a.values)
	case parser.SUM:
		if a.hasFloat && a.hasHistogram {
			annos.Add(annotations.NewMixedFloatsHistogramsAggWarning(pos))
			return 0, nil, false
		}
		switch {
		case a.incompatible:
			return 0, nil, false
		case a.hasHistogram:
			h = a.h
			if a.hC != nil {
				h, _, _, _ = h.Add(a.hC)
			}
			h.Compact(0)
		default:
			f += a.c
		}
	}
	if a.crt.collision() {
		annos.Add(annotations.NewHistogramCounterResetCollisionWarning(pos, annotations.HistogramAgg))
	}
	return f, h, true
}

func (a *aggAcc) histogramMean() *histogram.FloatHistogram {
	var h *histogram.FloatHistogram
	if a.hIncMean {
		h = a.hMean
		if a.hC != nil {
			h, _, _, _ = a.hMean.Add(a.hC)
		}
	} else {
		h = a.h.Div(a.count)
		if a.hC != nil {
			h, _, _, _ = h.Add(a.hC.Div(a.count))
		}
	}
	return h.Compact(0)
}

// countValues implements count_values: one output series per group and
// distinct value, counting the samples with that value at each step. The
// group of a series without its value is worked out once; only the value
// is formatted per sample.
func (ev *evaluator) countValues(e *parser.AggregateExpr, grouping []string) (Matrix, error) {
	lit := e.Param.(*parser.StringLiteral)
	label := lit.Val
	if !model.UTF8Validation.IsValidLabelName(label) {
		return nil, fmt.Errorf("invalid label name %s", lit)
	}
	if !e.Without {
		grouping = append(grouping, label)
		slices.Sort(grouping)
	}
	in, err := ev.evalVector(e.Expr)
	if err != nil {
		return nil, err
	}
	// Output labels and keys are those of the series with the value label
	// set; setting it replaces any label of that name, so the parts that
	// do not depend on the value come from the series without it.
	withValue := !e.Without || !slices.Contains(grouping, label)
	bases := make([]labels.Labels, len(in))
	keys := make([]string, len(in))
	names := grouping
	if e.Without {
		names = append(slices.Clone(grouping), labels.MetricName)
		slices.Sort(names)
	}
	var buf []byte
	lb := labels.NewBuilder(labels.EmptyLabels())
	for i := range in {
		lb.Reset(in[i].Metric)
		base := lb.Del(label).Labels()
		if e.Without {
			buf = base.BytesWithoutLabels(buf, names...)
		} else {
			buf = base.BytesWithLabels(buf, names...)
		}
		keys[i] = string(buf)
		bases[i] = groupLabels(base, grouping, e.Without)
	}
	out := newOutputSet(ev.steps, ev.arena)
	slots := map[string]int{} // output series by group key (and value)
	view := newStepView(in)
	var (
		counts  []int // per output series, at the current step
		touched []int // output series counted at this step, in order of appearance
		vbuf    []byte
		kbuf    []byte
	)
	for k := range ev.steps {
		if k%256 == 0 {
			if err := ev.checkCtx(); err != nil {
				return nil, err
			}
		}
		ts := ev.ts(k)
		touched = touched[:0]
		for i := range in {
			f, h, ok := view.at(i, ts)
			if !ok {
				continue
			}
			if h == nil {
				vbuf = strconv.AppendFloat(vbuf[:0], f, 'f', -1, 64)
			} else {
				vbuf = append(vbuf[:0], h.String()...)
			}
			// Keys are built in a buffer: map lookups with string(kbuf)
			// do not allocate, only new output series do.
			kbuf = append(kbuf[:0], keys[i]...)
			if withValue {
				kbuf = append(append(kbuf, '\xff'), vbuf...)
			}
			slot, ok := slots[string(kbuf)]
			if !ok {
				metric := bases[i]
				if withValue {
					lb.Reset(metric)
					metric = lb.Set(label, string(vbuf)).Labels()
				}
				// Group keys and output labels correspond one to one.
				slot = out.newSlot(metric, false)
				slots[string(kbuf)] = slot
				counts = append(counts, 0)
			}
			if counts[slot] == 0 {
				touched = append(touched, slot)
			}
			counts[slot]++
		}
		for _, slot := range touched {
			if err := out.addSampleAt(slot, k, ts, float64(counts[slot]), nil); err != nil {
				return nil, err
			}
			counts[slot] = 0
		}
	}
	return out.result(), nil
}
