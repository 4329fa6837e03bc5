package promql

import (
	"math"
	"strconv"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/promql/parser/posrange"
	"github.com/prometheus/prometheus/util/annotations"
)

// classicGroup gathers the bucket series of one classic histogram: all the
// series that are equal but for their le label.
type classicGroup struct {
	key     string
	metric  labels.Labels // the series' labels without le
	buckets []bucket      // this step's buckets
	// slot is the group's output series once known, -1 before: its labels
	// are the same at every step (but for histogram_quantiles').
	slot int
}

// bucketLayout is what histogram functions know about each input series,
// worked out once rather than at every step.
type bucketLayout struct {
	group []int     // classic group of a series, -1 when its le is malformed
	le    []float64 // its upper bound
	bad   []string  // the malformed le value of a series, if any
	all   []classicGroup
	byKey map[string]int
	// scratch holds a copy of a group's buckets for bucketQuantile.
	scratch []bucket
	keyBuf  []byte
}

func newBucketLayout(m Matrix) *bucketLayout {
	l := &bucketLayout{
		group: make([]int, len(m)),
		le:    make([]float64, len(m)),
		bad:   make([]string, len(m)),
		byKey: map[string]int{},
	}
	var (
		buf []byte
		b   labels.Builder
	)
	for i, s := range m {
		l.group[i] = -1
		if len(s.Floats) == 0 {
			continue
		}
		leStr := s.Metric.Get(model.BucketLabel)
		le, err := strconv.ParseFloat(leStr, 64)
		if err != nil {
			l.bad[i] = leStr
			continue
		}
		l.le[i] = le
		buf = s.Metric.BytesWithoutLabels(buf, labels.BucketLabel)
		g, ok := l.byKey[string(buf)]
		if !ok {
			g = len(l.all)
			l.byKey[string(buf)] = g
			b.Reset(s.Metric)
			l.all = append(l.all, classicGroup{key: string(buf), metric: b.Del(labels.BucketLabel).Labels(), slot: -1})
		}
		l.group[i] = g
	}
	l.sizeBuckets()
	return l
}

// sizeBuckets gives every group room for all its buckets, in one shared
// array: a group gets at most one bucket per member series at each step.
func (l *bucketLayout) sizeBuckets() {
	members := make([]int, len(l.all))
	total := 0
	for _, g := range l.group {
		if g >= 0 {
			members[g]++
			total++
		}
	}
	all := make([]bucket, total)
	for g, n := range members {
		l.all[g].buckets, all = all[:0:n], all[n:]
	}
}

// histogramFuncArgs are the evaluated arguments of histogram_quantile,
// histogram_quantiles and histogram_fraction.
type histogramFuncArgs struct {
	vec       Matrix
	vecPos    parser.Expr
	qs        []scalarValue // quantiles, or lower and upper for fractions
	qArgs     []parser.Expr
	qLabel    string // histogram_quantiles' output label
	fraction  bool
	quantiles bool
}

func (ev *evaluator) histogramFuncArgs(e *parser.Call) (*histogramFuncArgs, error) {
	a := &histogramFuncArgs{}
	var scalars []parser.Expr
	switch e.Func.Name {
	case "histogram_quantile":
		scalars, a.vecPos = e.Args[:1], e.Args[1]
	case "histogram_quantiles":
		a.vecPos, a.qLabel, scalars, a.quantiles = e.Args[0], stringArg(e.Args[1]), e.Args[2:], true
	case "histogram_fraction":
		scalars, a.vecPos, a.fraction = e.Args[:2], e.Args[2], true
	}
	for _, s := range scalars {
		v, err := ev.evalScalar(s)
		if err != nil {
			return nil, err
		}
		a.qs = append(a.qs, v)
	}
	a.qArgs = scalars
	var err error
	a.vec, err = ev.evalVector(a.vecPos)
	return a, err
}

// evalHistogramQuantiles implements histogram_quantile, histogram_quantiles
// and histogram_fraction over native histograms and classic buckets alike.
// A classic histogram and a native one with the same labels at the same
// step are both ignored, with a warning.
func (ev *evaluator) evalHistogramQuantiles(e *parser.Call) (Matrix, error) {
	a, err := ev.histogramFuncArgs(e)
	if err != nil {
		return nil, err
	}
	layout := newBucketLayout(a.vec)
	out := newOutputSet(ev.steps, ev.arena)
	view := newStepView(a.vec)
	pos := a.vecPos.PositionRange()
	var (
		annos   annotations.Annotations
		natives []nativeSample
	)
	for k := range ev.steps {
		if k%256 == 0 {
			if err := ev.checkCtx(); err != nil {
				return nil, err
			}
		}
		ts := ev.ts(k)
		natives = ev.gatherBuckets(ts, a, layout, view, natives[:0], &annos, pos)
		if err := ev.histogramStep(k, ts, a, layout, natives, out, &annos, pos); err != nil {
			return nil, err
		}
	}
	ev.annotate(annos)
	return out.result(), nil
}

// gatherBuckets collects the classic buckets of step k into their groups and
// returns the series with a native histogram at that step, after dropping
// native/classic clashes.
func (ev *evaluator) gatherBuckets(ts int64, a *histogramFuncArgs, l *bucketLayout, view *stepView, natives []nativeSample, annos *annotations.Annotations, pos posrange.PositionRange) []nativeSample {
	for g := range l.all {
		l.all[g].buckets = l.all[g].buckets[:0]
	}
	for i := range a.vec {
		f, h, ok := view.at(i, ts)
		if !ok {
			continue
		}
		if h != nil {
			natives = append(natives, nativeSample{idx: i, h: h})
			continue
		}
		if l.group[i] < 0 {
			annos.Add(annotations.NewBadBucketLabelWarning(ev.nameForAnnotation(a.vec[i].Metric), l.bad[i], pos))
			continue
		}
		g := &l.all[l.group[i]]
		g.buckets = append(g.buckets, bucket{upperBound: l.le[i], count: f})
	}
	kept := natives[:0]
	for _, n := range natives {
		// A native histogram clashes with the classic group named by its
		// full labels.
		l.keyBuf = a.vec[n.idx].Metric.Bytes(l.keyBuf)
		if g, ok := l.byKey[string(l.keyBuf)]; ok && len(l.all[g].buckets) > 0 {
			annos.Add(annotations.NewMixedClassicNativeHistogramsWarning(ev.nameForAnnotation(a.vec[n.idx].Metric), pos))
			l.all[g].buckets = l.all[g].buckets[:0]
			continue
		}
		kept = append(kept, n)
	}
	return kept
}

// nativeSample is a native histogram of one input series at one step.
type nativeSample struct {
	idx int
	h   *histogramT
}

// nameForAnnotation is the metric name histogram functions mention: only
// known while names are kept until the end.
func (ev *evaluator) nameForAnnotation(m labels.Labels) string {
	if ev.opts.delayedName {
		return m.Get(labels.MetricName)
	}
	return ""
}

// histogramStep computes the outputs of step k.
func (ev *evaluator) histogramStep(k int, ts int64, a *histogramFuncArgs, l *bucketLayout, natives []nativeSample, out *outputSet, annos *annotations.Annotations, pos posrange.PositionRange) error {
	if a.fraction {
		lower, upper := a.qs[0][k], a.qs[1][k]
		for _, n := range natives {
			metric := ev.histogramOutputLabels(a.vec[n.idx].Metric)
			v, an := histogramFraction(lower, upper, n.h, metric.Get(labels.MetricName), pos)
			annos.Merge(an)
			if err := out.add(metric, true, k, ts, v); err != nil {
				return err
			}
		}
		for g := range l.all {
			grp := &l.all[g]
			if len(grp.buckets) == 0 {
				continue
			}
			if err := ev.addGroupOutput(a, grp, out, k, ts, 0, bucketFraction(lower, upper, grp.buckets)); err != nil {
				return err
			}
		}
		return nil
	}
	for qi, qv := range a.qs {
		q := qv[k]
		if math.IsNaN(q) || q < 0 || q > 1 {
			annos.Add(annotations.NewInvalidQuantileWarning(q, a.qArgs[qi].PositionRange()))
		}
	}
	for _, qv := range a.qs {
		q := qv[k]
		for _, n := range natives {
			metric := ev.histogramOutputLabels(a.vec[n.idx].Metric)
			v, an := histogramQuantile(q, n.h, metric.Get(labels.MetricName), pos)
			annos.Merge(an)
			if a.quantiles {
				metric = withQuantileLabel(metric, a.qLabel, q)
			}
			if err := out.add(metric, true, k, ts, v); err != nil {
				return err
			}
		}
		for g := range l.all {
			grp := &l.all[g]
			if len(grp.buckets) == 0 {
				continue
			}
			// bucketQuantile sorts and merges in place; the group's buckets
			// serve every quantile of the step.
			l.scratch = append(l.scratch[:0], grp.buckets...)
			res := bucketQuantile(q, l.scratch)
			if res.forcedMonotonic {
				annos.Add(annotations.NewHistogramQuantileForcedMonotonicityInfo(ev.nameForAnnotation(grp.metric), pos, ts, res.minBucket, res.maxBucket, res.maxDiff))
			}
			if err := ev.addGroupOutput(a, grp, out, k, ts, q, res.q); err != nil {
				return err
			}
		}
	}
	return nil
}

// addGroupOutput adds a classic group's quantile v (of q) at step k. The
// group's output series is looked up by labels once, not at every step.
func (ev *evaluator) addGroupOutput(a *histogramFuncArgs, grp *classicGroup, out *outputSet, k int, ts int64, q, v float64) error {
	if a.quantiles {
		metric := withQuantileLabel(ev.histogramOutputLabels(grp.metric), a.qLabel, q)
		return out.add(metric, true, k, ts, v)
	}
	if grp.slot < 0 {
		grp.slot = out.slot(ev.histogramOutputLabels(grp.metric), true)
	}
	return out.addAt(grp.slot, k, ts, v)
}

// histogramOutputLabels drops the metric name unless that waits for the end.
func (ev *evaluator) histogramOutputLabels(m labels.Labels) labels.Labels {
	if ev.opts.delayedName {
		return m
	}
	return dropMetricName(m)
}

func withQuantileLabel(m labels.Labels, name string, q float64) labels.Labels {
	v := "NaN"
	if !math.IsNaN(q) {
		v = labels.FormatOpenMetricsFloat(q)
	}
	return labels.NewBuilder(m).Set(name, v).Labels()
}
