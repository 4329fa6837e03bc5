package promql

import (
	"fmt"
	"slices"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/schema"
)

// matchSides computes the join signature of every series of both operands
// once, as an ordinal shared by both sides.
type matchSides struct {
	lhs, rhs []int // signature ordinal per series
	n        int   // number of distinct signatures
}

func newMatchSides(lhs, rhs Matrix, m *parser.VectorMatching) *matchSides {
	names := slices.Clone(m.MatchingLabels)
	if !m.On {
		names = append(names, labels.MetricName)
	}
	slices.Sort(names)
	ms := &matchSides{lhs: make([]int, len(lhs)), rhs: make([]int, len(rhs))}
	var (
		index keyIndex
		buf   []byte
	)
	sig := func(l labels.Labels) int {
		if m.On {
			buf = l.BytesWithLabels(buf, names...)
		} else {
			buf = l.BytesWithoutLabels(buf, names...)
		}
		o, _ := index.index(buf)
		return o
	}
	for i, s := range lhs {
		ms.lhs[i] = sig(s.Metric)
	}
	for i, s := range rhs {
		ms.rhs[i] = sig(s.Metric)
	}
	ms.n = index.len()
	return ms
}

// setOperation evaluates and, or and unless step by step: which elements
// pass depends on which signatures the other side has at that step.
func (ev *evaluator) setOperation(e *parser.BinaryExpr, lhs, rhs Matrix) (Matrix, error) {
	sides := newMatchSides(lhs, rhs, e.VectorMatching)
	if ev.steps > 1 {
		return ev.setOperationSeriesWise(e, lhs, rhs, sides)
	}
	lv, rv := newStepView(lhs), newStepView(rhs)
	out := newOutputSet(ev.steps, ev.arena)
	present := make([]int, sides.n) // step+1 at which a signature was last seen
	var le, re []joinElem
	for k := range ev.steps {
		if k%256 == 0 {
			if err := ev.checkCtx(); err != nil {
				return nil, err
			}
		}
		ts := ev.ts(k)
		le, re = lv.present(le[:0], ts), rv.present(re[:0], ts)
		emit := func(s *Series, x joinElem) error {
			return out.addSample(s.Metric, s.dropName, k, ts, x.f, x.h)
		}
		stamp := k + 1
		switch e.Op {
		case parser.LAND:
			if len(le) == 0 || len(re) == 0 {
				continue
			}
			for _, x := range re {
				present[sides.rhs[x.idx]] = stamp
			}
			for _, x := range le {
				if present[sides.lhs[x.idx]] == stamp {
					if err := emit(&lhs[x.idx], x); err != nil {
						return nil, err
					}
				}
			}
		case parser.LOR:
			for _, x := range le {
				present[sides.lhs[x.idx]] = stamp
				if err := emit(&lhs[x.idx], x); err != nil {
					return nil, err
				}
			}
			for _, x := range re {
				if present[sides.rhs[x.idx]] != stamp {
					if err := emit(&rhs[x.idx], x); err != nil {
						return nil, err
					}
				}
			}
		case parser.LUNLESS:
			for _, x := range re {
				present[sides.rhs[x.idx]] = stamp
			}
			for _, x := range le {
				if present[sides.lhs[x.idx]] != stamp {
					if err := emit(&lhs[x.idx], x); err != nil {
						return nil, err
					}
				}
			}
		}
	}
	return out.result(), nil
}

// joinElem is one element of an operand at one step; idx is -1 for an
// element made up from a fill value.
type joinElem struct {
	idx int
	f   float64
	h   *histogramT
}

// present appends to dst the series of the view with a sample at ts.
func (v *stepView) present(dst []joinElem, ts int64) []joinElem {
	for i := range v.m {
		if f, h, ok := v.at(i, ts); ok {
			dst = append(dst, joinElem{i, f, h})
		}
	}
	return dst
}

// vectorVector evaluates an arithmetic or comparison operator between two
// vectors with one-to-one, many-to-one or one-to-many matching (and fill
// values), step by step over precomputed signatures.
func (ev *evaluator) vectorVector(e *parser.BinaryExpr, lhs, rhs Matrix) (Matrix, error) {
	m := e.VectorMatching
	sides := newMatchSides(lhs, rhs, m)
	if out, ok := ev.joinSeriesWise(e, lhs, rhs, sides); ok {
		return out, nil
	}
	j := &joiner{
		ev: ev, e: e, m: m,
		lhsM: lhs, rhsM: rhs,
		sides:   sides,
		out:     newOutputSet(ev.steps, ev.arena),
		results: map[[2]int]int{},
	}
	j.rightAt = make([]joinElem, j.sides.n)
	j.rightStamp = make([]int, j.sides.n)
	j.matchedStamp = make([]int, j.sides.n)
	lv, rv := newStepView(lhs), newStepView(rhs)
	var le, re []joinElem
	for k := range ev.steps {
		if k%256 == 0 {
			if err := ev.checkCtx(); err != nil {
				return nil, err
			}
		}
		ts := ev.ts(k)
		le, re = lv.present(le[:0], ts), rv.present(re[:0], ts)
		if err := j.step(k, ts, le, re); err != nil {
			return nil, err
		}
	}
	ev.reportStepErrors(j.errs, e)
	return j.out.result(), nil
}

// joiner holds the state of a vector/vector operation across steps.
type joiner struct {
	ev         *evaluator
	e          *parser.BinaryExpr
	m          *parser.VectorMatching
	lhsM, rhsM Matrix
	sides      *matchSides
	out        *outputSet
	errs       stepErrors

	rightAt      []joinElem // the "one" side's element per signature
	rightStamp   []int      // step+1 at which rightAt was set
	matchedStamp []int      // step+1 at which a signature was last matched
	matchedSigs  map[[2]uint64]struct{}
	// results caches output slots by (left series, right series); fill
	// elements use -1-signature as their index.
	results map[[2]int]int
	lb      labels.Builder // reused by resultMetric
}

func (j *joiner) step(k int, ts int64, le, re []joinElem) error {
	m := j.m
	noFill := m.FillValues.LHS == nil && m.FillValues.RHS == nil
	if (len(le) == 0 && len(re) == 0) || ((len(le) == 0 || len(re) == 0) && noFill) {
		return nil
	}
	// For one-to-many, the right side is the "many" one: swap sides and
	// swap back when computing values.
	many, one := le, re
	manyM, oneM, manySig, oneSig := j.lhsM, j.rhsM, j.sides.lhs, j.sides.rhs
	// Prometheus does not swap the fill values with the sides: fill_right
	// fills the "one" side, fill_left the "many" side.
	fillOne, fillMany := m.FillValues.RHS, m.FillValues.LHS
	if m.Card == parser.CardOneToMany {
		many, one = re, le
		manyM, oneM, manySig, oneSig = j.rhsM, j.lhsM, j.sides.rhs, j.sides.lhs
	}
	stamp := k + 1
	for _, x := range one {
		o := oneSig[x.idx]
		if j.rightStamp[o] == stamp {
			return j.duplicateError(oneM[x.idx].Metric, oneM[j.rightAt[o].idx].Metric)
		}
		j.rightAt[o], j.rightStamp[o] = x, stamp
	}
	if m.Card != parser.CardOneToOne {
		clear(j.matchedSigs)
	}
	matched := func(o int) bool { return j.matchedStamp[o] == stamp }
	for _, x := range many {
		o := manySig[x.idx]
		var y joinElem
		if j.rightStamp[o] == stamp {
			y = j.rightAt[o]
		} else {
			if fillOne == nil {
				continue
			}
			y = joinElem{idx: -1 - o, f: *fillOne}
		}
		if err := j.apply(k, ts, x, y, o, manyM, oneM); err != nil {
			return err
		}
	}
	if fillMany != nil {
		for _, y := range one {
			o := oneSig[y.idx]
			if matched(o) {
				continue
			}
			x := joinElem{idx: -1 - o, f: *fillMany}
			if err := j.apply(k, ts, x, y, o, manyM, oneM); err != nil {
				return err
			}
		}
	}
	return nil
}

func (j *joiner) duplicateError(a, b labels.Labels) error {
	side := "right"
	if j.m.Card == parser.CardOneToMany {
		side = "left"
	}
	matched := a.MatchLabels(j.m.On, j.m.MatchingLabels...)
	s1, s2 := a.String(), b.String()
	if s1 > s2 {
		s1, s2 = s2, s1
	}
	return fmt.Errorf("found duplicate series for the match group %s on the %s hand-side of the operation: [%s, %s]"+
		";many-to-many matching not allowed: matching labels must be unique on one side", matched, side, s1, s2)
}

// apply computes one output element from the "many" element x and the
// "one" element y matched on signature o.
func (j *joiner) apply(k int, ts int64, x, y joinElem, o int, manyM, oneM Matrix) error {
	e, m := j.e, j.m
	lf, rf, lh, rh := x.f, y.f, x.h, y.h
	if m.Card == parser.CardOneToMany {
		lf, rf, lh, rh = rf, lf, rh, lh
	}
	r := vectorElemBinop(e.Op, lf, rf, lh, rh, e.PositionRange())
	if r.err != nil {
		// Unlike vector/scalar, any problem drops the element, even a
		// warning such as conflicting counter resets.
		j.errs.set(j.ev.steps, k, r.err)
		return nil
	}
	if r.info != nil {
		j.errs.set(j.ev.steps, k, r.info)
	}
	if e.ReturnBool {
		r.h, r.f = nil, btof(r.keep)
	}
	slot, metric, err := j.resultSlot(x, y, o, manyM, oneM)
	if err != nil {
		return err
	}
	if m.Card == parser.CardOneToOne {
		if j.matchedStamp[o] == k+1 {
			return fmt.Errorf("multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)")
		}
		j.matchedStamp[o] = k + 1
	} else {
		if j.matchedSigs == nil {
			j.matchedSigs = map[[2]uint64]struct{}{}
		}
		key := [2]uint64{uint64(o), metric.Hash()}
		if _, dup := j.matchedSigs[key]; dup {
			return fmt.Errorf("multiple matches for labels: grouping labels must ensure unique matches")
		}
		j.matchedSigs[key] = struct{}{}
		j.matchedStamp[o] = k + 1
	}
	if !r.keep && !e.ReturnBool {
		return nil
	}
	return j.out.addSampleAt(slot, k, ts, r.f, r.h)
}

// resultSlot returns the output series of a pair of elements, computing its
// labels once per pair of input series.
func (j *joiner) resultSlot(x, y joinElem, o int, manyM, oneM Matrix) (int, labels.Labels, error) {
	key := [2]int{x.idx, y.idx}
	if slot, ok := j.results[key]; ok {
		return slot, j.out.series[slot].Metric, nil
	}
	var many, one labels.Labels
	if x.idx >= 0 {
		many = manyM[x.idx].Metric
	}
	if y.idx >= 0 {
		one = oneM[y.idx].Metric
	}
	// A fill element has the matching labels of its counterpart.
	if x.idx < 0 {
		many = one.MatchLabels(j.m.On, j.m.MatchingLabels...)
	}
	if y.idx < 0 {
		one = many.MatchLabels(j.m.On, j.m.MatchingLabels...)
	}
	metric := j.resultMetric(many, one)
	dropName := j.e.ReturnBool
	slot := j.out.slot(metric, dropName)
	j.results[key] = slot
	return slot, metric, nil
}

// resultMetric computes the labels of an output element from the "many"
// side's labels and the "one" side's.
func (j *joiner) resultMetric(many, one labels.Labels) labels.Labels {
	e, m := j.e, j.m
	b := &j.lb
	b.Reset(many)
	if (!j.ev.opts.delayedName && e.ReturnBool) || changesMetricSchema(e.Op) {
		schema.Metadata{}.SetToLabels(b)
	}
	if m.Card == parser.CardOneToOne {
		if m.On {
			b.Keep(m.MatchingLabels...)
		} else {
			b.Del(m.MatchingLabels...)
		}
	}
	for _, ln := range m.Include {
		// group_x labels come from the "one" side.
		if v := one.Get(ln); v != "" {
			b.Set(ln, v)
		} else {
			b.Del(ln)
		}
	}
	return b.Labels()
}
