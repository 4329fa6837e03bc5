package promql

import (
	"fmt"
	"math"
	"slices"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// evalAggregate evaluates sum, avg, min, max and count. Series are mapped to
// groups once; then each group accumulates, step by step, the values of its
// series in input order (the order Prometheus adds them in, which matters for
// the floating-point result).
func (ev *evaluator) evalAggregate(e *parser.AggregateExpr) (vectorResult, error) {
	in, err := ev.evalVector(e.Expr)
	if err != nil {
		return nil, err
	}
	groupOf, groupLabels := groupSeries(in, e.Grouping, e.Without)

	accs := make([][]aggAcc, len(groupLabels))
	for i := range accs {
		accs[i] = make([]aggAcc, ev.grid.n)
	}
	for si, s := range in {
		acc := accs[groupOf[si]]
		for k, p := range s.present {
			if p {
				acc[k].add(e.Op, s.vals[k])
			}
		}
	}

	out := make(vectorResult, 0, len(groupLabels))
	for g, lbls := range groupLabels {
		ss := newStepSeries(lbls, ev.grid.n)
		for k := range accs[g] {
			if a := &accs[g][k]; a.seen {
				ss.set(k, a.value(e.Op))
			}
		}
		if ss.count() > 0 {
			out = append(out, ss)
		}
	}
	return out, nil
}

// groupSeries assigns every input series to an output group and returns, per
// group, its labels: the `by` labels, or all labels but the `without` ones and
// the metric name.
func groupSeries(in vectorResult, grouping []string, without bool) (groupOf []int, groupLabels []labels.Labels) {
	names := slices.Clone(grouping)
	if without {
		names = append(names, labels.MetricName)
	}
	slices.Sort(names) // the labels.Bytes* helpers need sorted names
	names = slices.Compact(names)

	index := map[string]int{}
	groupOf = make([]int, len(in))
	var buf []byte
	for i, s := range in {
		if without {
			buf = s.metric.BytesWithoutLabels(buf, names...)
		} else {
			buf = s.metric.BytesWithLabels(buf, names...)
		}
		g, ok := index[string(buf)]
		if !ok {
			g = len(groupLabels)
			index[string(buf)] = g
			groupLabels = append(groupLabels, groupingLabels(s.metric, names, without))
		}
		groupOf[i] = g
	}
	return groupOf, groupLabels
}

func groupingLabels(m labels.Labels, names []string, without bool) labels.Labels {
	b := labels.NewBuilder(m)
	if without {
		b.Del(names...)
	} else {
		b.Keep(names...)
	}
	return b.Labels()
}

// aggAcc accumulates one group at one step.
type aggAcc struct {
	seen  bool
	v     float64 // sum, min or max so far
	count float64
	avg   avgAcc
	c     float64 // Kahan compensation of v for sum
}

func (a *aggAcc) add(op parser.ItemType, f float64) {
	if !a.seen {
		a.seen, a.v, a.count = true, f, 1
		if op == parser.AVG {
			a.avg.add(f)
		}
		return
	}
	a.count++
	switch op {
	case parser.SUM:
		a.v, a.c = kahanInc(f, a.v, a.c)
	case parser.AVG:
		a.avg.add(f)
	case parser.MAX:
		if a.v < f || math.IsNaN(a.v) { // NaN only wins if nothing else is there
			a.v = f
		}
	case parser.MIN:
		if a.v > f || math.IsNaN(a.v) {
			a.v = f
		}
	}
}

func (a *aggAcc) value(op parser.ItemType) float64 {
	switch op {
	case parser.SUM:
		return a.v + a.c
	case parser.AVG:
		return a.avg.value()
	case parser.COUNT:
		return a.count
	case parser.MIN, parser.MAX:
		return a.v
	}
	panic(fmt.Sprintf("promql: unsupported aggregation %s", op))
}

// avgAcc computes a mean the way Prometheus does: a Kahan-compensated sum
// divided by the count, switching to an incremental mean only if the sum
// would overflow.
type avgAcc struct {
	sum, c, mean, count float64
	incremental         bool
}

func (a *avgAcc) add(f float64) {
	a.count++
	if a.count == 1 {
		a.sum = f
		return
	}
	if !a.incremental {
		sum, c := kahanInc(f, a.sum, a.c)
		if !math.IsInf(sum, 0) {
			a.sum, a.c = sum, c
			return
		}
		a.incremental = true
		a.mean = a.sum / (a.count - 1)
		a.c /= a.count - 1
	}
	q := (a.count - 1) / a.count
	a.mean, a.c = kahanInc(f/a.count, q*a.mean, q*a.c)
}

func (a *avgAcc) value() float64 {
	if a.incremental {
		return a.mean + a.c
	}
	return a.sum/a.count + a.c/a.count
}

// kahanInc adds inc to sum with Neumaier's compensation c. The explicit
// float64 conversions forbid the compiler from fusing operations (FMA)
// across the call, which would change the rounding the compensation relies on.
func kahanInc(inc, sum, c float64) (newSum, newC float64) {
	inc, sum, c = float64(inc), float64(sum), float64(c)
	t := sum + inc
	switch {
	case math.IsInf(t, 0):
		c = 0
	case math.Abs(sum) >= math.Abs(inc):
		c += (sum - t) + inc
	default:
		c += (inc - t) + sum
	}
	return float64(t), float64(c)
}
