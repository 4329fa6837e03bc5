package promql

import (
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// subqueryGrid returns the grid a subquery is evaluated on: steps aligned to
// multiples of its step, covering (first outer step - offset - range,
// last outer step - offset]. An @ modifier pins both ends.
func (ev *evaluator) subqueryGrid(sq *parser.SubqueryExpr) (start, end, step int64) {
	offset := sq.OriginalOffset.Milliseconds()
	rng := sq.Range.Milliseconds()
	step = ev.plan.subqueryStep(sq)
	first := ev.start
	// The last step actually on the outer grid.
	last := ev.start + ((ev.end-ev.start)/ev.interval)*ev.interval
	if sq.Timestamp != nil {
		first, last = *sq.Timestamp, *sq.Timestamp
	}
	end = last - offset
	from := first - offset - rng
	start = step * (from / step)
	if start <= from {
		start += step
	}
	return start, end, step
}

// evalSubquery evaluates the inner expression of a subquery on its own grid
// and returns its series with their step timestamps.
func (ev *evaluator) evalSubquery(sq *parser.SubqueryExpr) (Matrix, error) {
	start, end, step := ev.subqueryGrid(sq)
	inner := ev.child(start, end, step)
	val, err := inner.eval(sq.Expr)
	ev.adopt(inner)
	if err != nil {
		return nil, err
	}
	var m Matrix
	switch v := val.(type) {
	case Matrix:
		m = v
	case scalarValue:
		s := Series{Metric: labels.EmptyLabels(), Floats: make([]FPoint, len(v))}
		for i, f := range v {
			s.Floats[i] = FPoint{T: inner.ts(i), F: f}
		}
		m = Matrix{s}
	}
	// Counter reset hints do not survive resampling: a reset may fall
	// between the subquery's steps, or be seen at several of them.
	for i := range m {
		for k, p := range m[i].Histograms {
			if p.H.CounterResetHint == histogram.CounterReset || p.H.CounterResetHint == histogram.NotCounterReset {
				h := *p.H
				h.CounterResetHint = histogram.UnknownCounterReset
				m[i].Histograms[k].H = &h
			}
		}
	}
	return m, nil
}
