package promql

import (
	"fmt"
	"math"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/graftlabs/graft/pkg/storage"
)

// rangeWindow describes the range a range-vector function looks at for one
// step: samples in (start, end].
type rangeWindow struct {
	start, end int64   // ms; start is exclusive
	seconds    float64 // the selector's range
}

// rangeFunc computes one step of a function over a range vector from the
// (non-empty) samples in the window. ok=false means no output at this step.
type rangeFunc func(pts []FPoint, w rangeWindow) (v float64, ok bool)

type rangeFuncDef struct {
	fn rangeFunc
	// keepName: last_over_time acts like a selector and keeps the metric
	// name; every other function drops it.
	keepName bool
}

var rangeFuncs = map[string]rangeFuncDef{
	"rate":            {fn: funcRate},
	"increase":        {fn: funcIncrease},
	"delta":           {fn: funcDelta},
	"irate":           {fn: funcIrate},
	"avg_over_time":   {fn: funcAvgOverTime},
	"sum_over_time":   {fn: funcSumOverTime},
	"min_over_time":   {fn: funcMinOverTime},
	"max_over_time":   {fn: funcMaxOverTime},
	"count_over_time": {fn: funcCountOverTime},
	"last_over_time":  {fn: funcLastOverTime, keepName: true},
}

// instantFuncs are the supported functions that do not take a range vector.
var instantFuncs = map[string]bool{"abs": true, "time": true, "vector": true, "scalar": true}

func isSupportedFunc(name string) bool {
	_, ok := rangeFuncs[name]
	return ok || instantFuncs[name]
}

func (ev *evaluator) evalCall(e *parser.Call) (nodeValue, error) {
	name := e.Func.Name
	if def, ok := rangeFuncs[name]; ok {
		return ev.evalRangeFunc(e, def)
	}
	switch name {
	case "time":
		out := make(scalarResult, ev.grid.n)
		for i := range out {
			out[i] = float64(ev.grid.at(i)) / 1000
		}
		return out, nil
	case "vector":
		return ev.funcVector(e.Args[0])
	case "scalar":
		return ev.funcScalar(e.Args[0])
	case "abs":
		return ev.simpleFunc(e.Args[0], math.Abs)
	}
	return nil, fmt.Errorf("function %q is not implemented", name)
}

// funcVector turns a scalar into a one-series vector without labels.
func (ev *evaluator) funcVector(arg parser.Expr) (vectorResult, error) {
	s, err := ev.evalScalar(arg)
	if err != nil {
		return nil, err
	}
	out := newStepSeries(labels.EmptyLabels(), ev.grid.n)
	for i, v := range s {
		out.set(i, v)
	}
	return vectorResult{out}, nil
}

// funcScalar returns the value of the only series at each step, or NaN when
// there is not exactly one.
func (ev *evaluator) funcScalar(arg parser.Expr) (scalarResult, error) {
	v, err := ev.evalVector(arg)
	if err != nil {
		return nil, err
	}
	out := make(scalarResult, ev.grid.n)
	count := make([]int, ev.grid.n)
	for _, s := range v {
		for i, p := range s.present {
			if p {
				count[i]++
				out[i] = s.vals[i]
			}
		}
	}
	for i, c := range count {
		if c != 1 {
			out[i] = math.NaN()
		}
	}
	return out, nil
}

// simpleFunc applies f to every value; the metric name is dropped.
func (ev *evaluator) simpleFunc(arg parser.Expr, f func(float64) float64) (vectorResult, error) {
	in, err := ev.evalVector(arg)
	if err != nil {
		return nil, err
	}
	out := make(vectorResult, len(in))
	for i, s := range in {
		ns := newStepSeries(dropMetricName(s.metric), ev.grid.n)
		for k, p := range s.present {
			if p {
				ns.set(k, f(s.vals[k]))
			}
		}
		out[i] = ns
	}
	return mergeSameLabels(out, ev.grid.n)
}

// evalRangeFunc evaluates a function over a range vector. Each series is read
// once: a window slides over its samples as the steps advance.
func (ev *evaluator) evalRangeFunc(e *parser.Call, def rangeFuncDef) (vectorResult, error) {
	ms, ok := unwrapParens(e.Args[0]).(*parser.MatrixSelector)
	if !ok {
		return nil, fmt.Errorf("function %q needs a range vector selector, got %s", e.Func.Name, e.Args[0])
	}
	vs := ms.VectorSelector.(*parser.VectorSelector)
	rangeMs := ms.Range.Milliseconds()
	set := ev.selectSeries(vs, rangeMs, e.Func.Name)
	var (
		out vectorResult
		it  storage.Iterator
		cur sampleCursor
		w   window
	)
	for set.Next() {
		if err := ev.checkCtx(); err != nil {
			return nil, err
		}
		s := set.At()
		it = s.Iterator(it)
		cur.reset(it)
		w.reset()
		metric := s.Labels()
		if !def.keepName {
			metric = dropMetricName(metric)
		}
		ss := newStepSeries(metric, ev.grid.n)
		if err := ev.slideWindow(&cur, &w, &ss, vs, ms, def.fn); err != nil {
			return nil, err
		}
		if err := it.Err(); err != nil {
			return nil, fmt.Errorf("reading series %s: %w", s.Labels(), err)
		}
		if n := ss.count(); n > 0 {
			out = append(out, ss)
			if err := ev.budget.addOutput(n); err != nil {
				return nil, err
			}
		}
	}
	if err := set.Err(); err != nil {
		return nil, fmt.Errorf("expanding series: %w", err)
	}
	if err := rejectSameLabels(out); err != nil {
		return nil, err
	}
	return out, nil
}

// slideWindow computes fn at every step for one series. With an @ modifier
// the window is the same at every step, so it is computed once.
func (ev *evaluator) slideWindow(cur *sampleCursor, w *window, ss *stepSeries, vs *parser.VectorSelector, ms *parser.MatrixSelector, fn rangeFunc) error {
	rangeMs := ms.Range.Milliseconds()
	_, fixed := ev.atTime(vs)
	held := 0
	defer func() { ev.budget.release(held) }()
	for i := range ev.grid.n {
		ref := ev.refTime(vs, i)
		if !fixed || i == 0 {
			added, dropped := w.advance(cur, ref-rangeMs, ref)
			held += added - dropped
			if err := ev.budget.add(added); err != nil {
				return err
			}
			ev.budget.release(dropped)
		}
		pts := w.points()
		if len(pts) == 0 {
			continue
		}
		if v, ok := fn(pts, rangeWindow{start: ref - rangeMs, end: ref, seconds: ms.Range.Seconds()}); ok {
			ss.set(i, v)
		}
	}
	return nil
}

func unwrapParens(e parser.Expr) parser.Expr {
	for {
		p, ok := e.(*parser.ParenExpr)
		if !ok {
			return e
		}
		e = p.Expr
	}
}

func funcRate(pts []FPoint, w rangeWindow) (float64, bool) {
	return extrapolatedRate(pts, w, true, true)
}

func funcIncrease(pts []FPoint, w rangeWindow) (float64, bool) {
	return extrapolatedRate(pts, w, true, false)
}

func funcDelta(pts []FPoint, w rangeWindow) (float64, bool) {
	return extrapolatedRate(pts, w, false, false)
}

// extrapolatedRate implements rate, increase and delta as Prometheus does
// (promql/functions.go): the change between the first and last sample,
// corrected for counter resets, extrapolated towards the window edges unless
// the series seems to start or end inside the window, and never below zero
// for counters.
func extrapolatedRate(pts []FPoint, w rangeWindow, isCounter, isRate bool) (float64, bool) {
	if len(pts) < 2 {
		return 0, false
	}
	first, last := pts[0], pts[len(pts)-1]
	result := last.F - first.F
	if isCounter {
		for i := 1; i < len(pts); i++ {
			if pts[i].F < pts[i-1].F { // counter reset: the counter restarted from 0
				result += pts[i-1].F
			}
		}
	}

	durationToStart := float64(first.T-w.start) / 1000
	durationToEnd := float64(w.end-last.T) / 1000
	sampledInterval := float64(last.T-first.T) / 1000
	avgInterval := sampledInterval / float64(len(pts)-1)
	// Samples within 110% of the average interval from an edge are taken to
	// mean the series covers that edge; otherwise extrapolate half an interval.
	threshold := avgInterval * 1.1

	if durationToStart >= threshold {
		durationToStart = avgInterval / 2
	}
	if isCounter && result > 0 && first.F >= 0 {
		// Do not extrapolate a counter to below zero.
		if durationToZero := sampledInterval * (first.F / result); durationToZero < durationToStart {
			durationToStart = durationToZero
		}
	}
	if durationToEnd >= threshold {
		durationToEnd = avgInterval / 2
	}

	factor := 1.0
	if sampledInterval != 0 {
		factor = (sampledInterval + durationToStart + durationToEnd) / sampledInterval
	}
	if isRate {
		factor /= w.seconds
	}
	return result * factor, true
}

// funcIrate is the per-second rate between the last two samples.
func funcIrate(pts []FPoint, _ rangeWindow) (float64, bool) {
	if len(pts) < 2 {
		return 0, false
	}
	prev, last := pts[len(pts)-2], pts[len(pts)-1]
	interval := last.T - prev.T
	if interval == 0 {
		return 0, false
	}
	v := last.F
	if !(last.F < prev.F) { // on a counter reset the counter restarted from 0
		v = last.F - prev.F
	}
	return v / (float64(interval) / 1000), true
}

// funcAvgOverTime sums with Kahan compensation and, like Prometheus, switches
// to an incremental mean only when the running sum would overflow.
func funcAvgOverTime(pts []FPoint, _ rangeWindow) (float64, bool) {
	var a avgAcc
	for _, p := range pts {
		a.add(p.F)
	}
	return a.value(), true
}

func funcSumOverTime(pts []FPoint, _ rangeWindow) (float64, bool) {
	var sum, c float64
	for _, p := range pts {
		sum, c = kahanInc(p.F, sum, c)
	}
	if math.IsInf(sum, 0) {
		return sum, true
	}
	return sum + c, true
}

func funcMinOverTime(pts []FPoint, _ rangeWindow) (float64, bool) {
	m := pts[0].F
	for _, p := range pts[1:] {
		if p.F < m || math.IsNaN(m) { // NaN only wins if nothing else is there
			m = p.F
		}
	}
	return m, true
}

func funcMaxOverTime(pts []FPoint, _ rangeWindow) (float64, bool) {
	m := pts[0].F
	for _, p := range pts[1:] {
		if p.F > m || math.IsNaN(m) {
			m = p.F
		}
	}
	return m, true
}

func funcCountOverTime(pts []FPoint, _ rangeWindow) (float64, bool) {
	return float64(len(pts)), true
}

func funcLastOverTime(pts []FPoint, _ rangeWindow) (float64, bool) {
	return pts[len(pts)-1].F, true
}
