package promql

import (
	"errors"
	"fmt"
	"math"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/promql/parser/posrange"
	"github.com/prometheus/prometheus/util/annotations"
)

// evalBinary evaluates both operands, left first, and dispatches on their
// types.
func (ev *evaluator) evalBinary(e *parser.BinaryExpr) (any, error) {
	lhs, err := ev.eval(e.LHS)
	if err != nil {
		return nil, err
	}
	rhs, err := ev.eval(e.RHS)
	if err != nil {
		return nil, err
	}
	switch l := lhs.(type) {
	case scalarValue:
		switch r := rhs.(type) {
		case scalarValue:
			return scalarScalar(e.Op, l, r)
		case Matrix:
			return ev.vectorScalar(e, r, l, true)
		}
	case Matrix:
		switch r := rhs.(type) {
		case scalarValue:
			return ev.vectorScalar(e, l, r, false)
		case Matrix:
			if e.Op.IsSetOperator() {
				return ev.setOperation(e, l, r)
			}
			return ev.vectorVector(e, l, r)
		}
	}
	return nil, fmt.Errorf("binary %s between %T and %T", e.Op, lhs, rhs)
}

func scalarScalar(op parser.ItemType, l, r scalarValue) (scalarValue, error) {
	for i := range l {
		v, err := scalarBinop(op, l[i], r[i])
		if err != nil {
			return nil, err
		}
		l[i] = v
	}
	return l, nil
}

func scalarBinop(op parser.ItemType, lhs, rhs float64) (float64, error) {
	switch op {
	case parser.ADD:
		return lhs + rhs, nil
	case parser.SUB:
		return lhs - rhs, nil
	case parser.MUL:
		return lhs * rhs, nil
	case parser.DIV:
		return lhs / rhs, nil
	case parser.POW:
		return math.Pow(lhs, rhs), nil
	case parser.MOD:
		return math.Mod(lhs, rhs), nil
	case parser.EQLC:
		return btof(lhs == rhs), nil
	case parser.NEQ:
		return btof(lhs != rhs), nil
	case parser.GTR:
		return btof(lhs > rhs), nil
	case parser.LSS:
		return btof(lhs < rhs), nil
	case parser.GTE:
		return btof(lhs >= rhs), nil
	case parser.LTE:
		return btof(lhs <= rhs), nil
	case parser.ATAN2:
		return math.Atan2(lhs, rhs), nil
	}
	return 0, fmt.Errorf("operator %q not allowed for Scalar operations", op)
}

func btof(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// changesMetricSchema reports the operators whose result is no longer the
// metric they read: the name goes.
func changesMetricSchema(op parser.ItemType) bool {
	switch op {
	case parser.ADD, parser.SUB, parser.DIV, parser.MUL, parser.POW, parser.MOD, parser.ATAN2:
		return true
	}
	return false
}

// elemResult is the outcome of an operator on two vector elements.
type elemResult struct {
	f    float64
	h    *histogram.FloatHistogram
	keep bool
	info error // an info annotation that still keeps the result
	err  error // an annotation (or schema error) that drops the element
}

// vectorElemBinop applies op to two elements, each a float or a histogram.
func vectorElemBinop(op parser.ItemType, lhs, rhs float64, hl, hr *histogram.FloatHistogram, pos posrange.PositionRange) elemResult {
	incompatible := func(l, r string) elemResult {
		return elemResult{err: annotations.NewIncompatibleTypesInBinOpInfo(l, parser.ItemTypeStr[op], r, pos)}
	}
	switch {
	case hl == nil && hr == nil:
		switch op {
		case parser.EQLC:
			return elemResult{f: lhs, keep: lhs == rhs}
		case parser.NEQ:
			return elemResult{f: lhs, keep: lhs != rhs}
		case parser.GTR:
			return elemResult{f: lhs, keep: lhs > rhs}
		case parser.LSS:
			return elemResult{f: lhs, keep: lhs < rhs}
		case parser.GTE:
			return elemResult{f: lhs, keep: lhs >= rhs}
		case parser.LTE:
			return elemResult{f: lhs, keep: lhs <= rhs}
		case parser.TRIM_LOWER, parser.TRIM_UPPER:
			return incompatible("float", "float")
		}
		v, err := scalarBinop(op, lhs, rhs)
		if err != nil {
			return elemResult{err: err}
		}
		return elemResult{f: v, keep: true}
	case hl == nil && hr != nil:
		if op == parser.MUL {
			return elemResult{h: hr.Copy().Mul(lhs).Compact(0), keep: true}
		}
		return incompatible("float", "histogram")
	case hl != nil && hr == nil:
		switch op {
		case parser.MUL:
			return elemResult{h: hl.Copy().Mul(rhs).Compact(0), keep: true}
		case parser.DIV:
			return elemResult{h: hl.Copy().Div(rhs).Compact(0), keep: true}
		case parser.TRIM_UPPER:
			return elemResult{h: hl.Copy().TrimBuckets(rhs, true), keep: true}
		case parser.TRIM_LOWER:
			return elemResult{h: hl.Copy().TrimBuckets(rhs, false), keep: true}
		}
		return incompatible("histogram", "float")
	}
	return histogramBinop(op, hl, hr, pos)
}

func histogramBinop(op parser.ItemType, hl, hr *histogram.FloatHistogram, pos posrange.PositionRange) elemResult {
	switch op {
	case parser.ADD, parser.SUB:
		var (
			res                   *histogram.FloatHistogram
			collision, reconciled bool
			err                   error
			hop                   = annotations.HistogramAdd
		)
		if op == parser.ADD {
			res, collision, reconciled, err = hl.Copy().Add(hr)
		} else {
			hop = annotations.HistogramSub
			res, collision, reconciled, err = hl.Copy().Sub(hr)
		}
		if err != nil {
			return elemResult{err: err}
		}
		if op == parser.SUB {
			res.CounterResetHint = histogram.GaugeType
		}
		r := elemResult{h: res.Compact(0), keep: true}
		if collision {
			r.err = annotations.NewHistogramCounterResetCollisionWarning(pos, hop)
		}
		if reconciled {
			r.info = annotations.NewMismatchedCustomBucketsHistogramsInfo(pos, hop)
		}
		return r
	case parser.EQLC:
		return elemResult{h: hl, keep: hl.Equals(hr)}
	case parser.NEQ:
		return elemResult{h: hl, keep: !hl.Equals(hr)}
	}
	return elemResult{err: annotations.NewIncompatibleTypesInBinOpInfo("histogram", parser.ItemTypeStr[op], "histogram", pos)}
}

// binopAnnotation turns the last error of a step into its annotation, as
// Prometheus does (one per step).
func binopAnnotation(err error, e *parser.BinaryExpr) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, annotations.PromQLInfo) || errors.Is(err, annotations.PromQLWarning) {
		return err
	}
	if incompatibleSchema(err) {
		return annotations.NewIncompatibleBucketLayoutInBinOpWarning(parser.ItemTypeStr[e.Op], e.PositionRange())
	}
	return nil
}

// stepErrors keeps the last element error of each step.
type stepErrors []error

func (s *stepErrors) set(steps, k int, err error) {
	if *s == nil {
		*s = make(stepErrors, steps)
	}
	(*s)[k] = err
}

func (ev *evaluator) reportStepErrors(s stepErrors, e *parser.BinaryExpr) {
	for _, err := range s {
		if a := binopAnnotation(err, e); a != nil {
			ev.warn(a)
		}
	}
}

// vectorScalar applies an operator between each element of a vector and a
// scalar, series by series. swap says the scalar is on the left.
func (ev *evaluator) vectorScalar(e *parser.BinaryExpr, m Matrix, s scalarValue, swap bool) (Matrix, error) {
	var errs stepErrors
	pos := e.PositionRange()
	dropName := changesMetricSchema(e.Op) || e.ReturnBool
	for i := range m {
		sr := &m[i]
		floats := sr.Floats[:0]
		var hists []HPoint
		apply := func(t int64, f float64, h *histogram.FloatHistogram) {
			k := ev.stepOf(t)
			lf, rf, lh, rh := f, s[k], h, (*histogram.FloatHistogram)(nil)
			if swap {
				lf, rf, lh, rh = rf, lf, rh, lh
			}
			r := vectorElemBinop(e.Op, lf, rf, lh, rh, pos)
			if r.err != nil && !errors.Is(r.err, annotations.PromQLWarning) {
				errs.set(ev.steps, k, r.err)
				return
			}
			if e.Op.IsComparisonOperator() && swap {
				// The vector's value is the result, even on the right.
				r.f, r.h = rf, rh
			}
			if e.ReturnBool {
				r.f, r.keep = btof(r.keep), true
			}
			if !r.keep {
				return
			}
			if r.h != nil {
				hists = append(hists, HPoint{T: t, H: r.h})
			} else {
				floats = append(floats, FPoint{T: t, F: r.f})
			}
		}
		// Floats are rewritten in place: each output float lands at or
		// before the input float it comes from.
		for _, p := range sr.Floats {
			apply(p.T, p.F, nil)
		}
		for _, p := range sr.Histograms {
			apply(p.T, 0, p.H)
		}
		if len(hists) > 0 || len(sr.Histograms) > 0 {
			// Results of histogram inputs may be floats and vice versa.
			floats, hists = splitSorted(floats, hists)
		}
		sr.Floats, sr.Histograms = floats, hists
		if dropName {
			ev.markDropName(sr)
		}
	}
	ev.reportStepErrors(errs, e)
	return mergeSameLabels(compactEmpty(m))
}

// splitSorted sorts floats and histograms by time after a rewrite that may
// have appended out of order.
func splitSorted(f []FPoint, h []HPoint) ([]FPoint, []HPoint) {
	sortFPoints(f)
	for i := 1; i < len(h); i++ {
		for j := i; j > 0 && h[j].T < h[j-1].T; j-- {
			h[j], h[j-1] = h[j-1], h[j]
		}
	}
	return f, h
}
