package promql

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

var errMultipleMatches = errors.New("multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)")

// evalBinary dispatches on the operand types. The left side is evaluated
// first, as in Prometheus.
func (ev *evaluator) evalBinary(e *parser.BinaryExpr) (nodeValue, error) {
	lhs, err := ev.eval(e.LHS)
	if err != nil {
		return nil, err
	}
	rhs, err := ev.eval(e.RHS)
	if err != nil {
		return nil, err
	}
	switch l := lhs.(type) {
	case scalarResult:
		switch r := rhs.(type) {
		case scalarResult:
			return scalarScalar(e.Op, l, r), nil
		case vectorResult:
			return ev.vectorScalar(e, r, l, true)
		}
	case vectorResult:
		switch r := rhs.(type) {
		case scalarResult:
			return ev.vectorScalar(e, l, r, false)
		case vectorResult:
			if e.Op.IsSetOperator() {
				return ev.setOp(e, l, r)
			}
			return ev.vectorVector(e, l, r)
		}
	}
	return nil, fmt.Errorf("binary %s between %T and %T", e.Op, lhs, rhs)
}

// binop applies an arithmetic or comparison operator to two floats. For a
// comparison, v is the left operand and keep says whether it holds.
func binop(op parser.ItemType, lhs, rhs float64) (v float64, keep bool) {
	switch op {
	case parser.ADD:
		return lhs + rhs, true
	case parser.SUB:
		return lhs - rhs, true
	case parser.MUL:
		return lhs * rhs, true
	case parser.DIV:
		return lhs / rhs, true
	case parser.POW:
		return math.Pow(lhs, rhs), true
	case parser.MOD:
		return math.Mod(lhs, rhs), true
	case parser.ATAN2:
		return math.Atan2(lhs, rhs), true
	case parser.EQLC:
		return lhs, lhs == rhs
	case parser.NEQ:
		return lhs, lhs != rhs
	case parser.GTR:
		return lhs, lhs > rhs
	case parser.LSS:
		return lhs, lhs < rhs
	case parser.GTE:
		return lhs, lhs >= rhs
	case parser.LTE:
		return lhs, lhs <= rhs
	}
	panic(fmt.Sprintf("promql: operator %s is not a float operator", op))
}

func btof(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// changesMetricSchema reports operators whose result is no longer the metric
// they were applied to, so the metric name is dropped.
func changesMetricSchema(op parser.ItemType) bool {
	switch op {
	case parser.ADD, parser.SUB, parser.MUL, parser.DIV, parser.POW, parser.MOD, parser.ATAN2:
		return true
	}
	return false
}

// scalarScalar: the parser only allows comparisons here with `bool`.
func scalarScalar(op parser.ItemType, l, r scalarResult) scalarResult {
	out := make(scalarResult, len(l))
	for i := range l {
		v, keep := binop(op, l[i], r[i])
		if op.IsComparisonOperator() {
			v = btof(keep)
		}
		out[i] = v
	}
	return out
}

// vectorScalar applies op between each vector element and the scalar of the
// same step. A filtering comparison keeps the vector's value, whichever side
// it is on.
func (ev *evaluator) vectorScalar(e *parser.BinaryExpr, vec vectorResult, sc scalarResult, scalarLeft bool) (vectorResult, error) {
	drop := changesMetricSchema(e.Op) || e.ReturnBool
	out := make(vectorResult, 0, len(vec))
	for _, s := range vec {
		m := s.metric
		if drop {
			m = dropMetricName(m)
		}
		ns := newStepSeries(m, ev.grid.n)
		for k, p := range s.present {
			if !p {
				continue
			}
			l, r := s.vals[k], sc[k]
			if scalarLeft {
				l, r = r, l
			}
			v, keep := binop(e.Op, l, r)
			if e.Op.IsComparisonOperator() {
				v = s.vals[k]
			}
			if e.ReturnBool {
				v, keep = btof(keep), true
			}
			if keep {
				ns.set(k, v)
			}
		}
		if ns.count() > 0 {
			out = append(out, ns)
		}
	}
	return mergeSameLabels(out, ev.grid.n)
}

// matchSigs assigns each series of both sides the ordinal of its match
// signature (its labels as seen by on(...)/ignoring(...)).
func matchSigs(m *parser.VectorMatching, lhs, rhs vectorResult) (lSig, rSig []int, nSigs int) {
	names := slices.Clone(m.MatchingLabels)
	if !m.On {
		names = append(names, labels.MetricName) // ignoring() always ignores the name
	}
	slices.Sort(names) // the labels.Bytes* helpers need sorted names
	ordinals := map[string]int{}
	var buf []byte
	assign := func(v vectorResult) []int {
		sigs := make([]int, len(v))
		for i, s := range v {
			if m.On {
				buf = s.metric.BytesWithLabels(buf, names...)
			} else {
				buf = s.metric.BytesWithoutLabels(buf, names...)
			}
			o, ok := ordinals[string(buf)]
			if !ok {
				o = len(ordinals)
				ordinals[string(buf)] = o
			}
			sigs[i] = o
		}
		return sigs
	}
	lSig, rSig = assign(lhs), assign(rhs)
	return lSig, rSig, len(ordinals)
}

// presentCounts returns, per step, how many series of v have a value.
func presentCounts(v vectorResult, n int) []int {
	counts := make([]int, n)
	for _, s := range v {
		for k, p := range s.present {
			if p {
				counts[k]++
			}
		}
	}
	return counts
}

// vectorVector evaluates an arithmetic or comparison operator with
// one-to-one matching. Steps are processed in order, each one exactly as
// Prometheus's VectorBinop does, so that the same error is raised first.
func (ev *evaluator) vectorVector(e *parser.BinaryExpr, lhs, rhs vectorResult) (vectorResult, error) {
	m := e.VectorMatching
	lSig, rSig, nSigs := matchSigs(m, lhs, rhs)
	lCount, rCount := presentCounts(lhs, ev.grid.n), presentCounts(rhs, ev.grid.n)
	dropName := changesMetricSchema(e.Op) || e.ReturnBool

	// Per-signature state, valid when the stamp equals the current step+1
	// (this avoids clearing the slices at every step).
	rightStamp := make([]int, nSigs)
	rightAt := make([]int, nSigs)
	matchedStamp := make([]int, nSigs)
	outIdx := make([]int, len(lhs))
	for i := range outIdx {
		outIdx[i] = -1
	}
	table := newSeriesTable(ev.grid.n, len(lhs))

	for k := range ev.grid.n {
		if lCount[k] == 0 || rCount[k] == 0 {
			continue
		}
		if err := ev.checkCtx(); err != nil {
			return nil, err
		}
		stamp := k + 1
		for j, r := range rhs {
			if !r.present[k] {
				continue
			}
			s := rSig[j]
			if rightStamp[s] == stamp {
				return nil, duplicateSeriesError(m, rhs[rightAt[s]].metric, r.metric)
			}
			rightStamp[s], rightAt[s] = stamp, j
		}
		sameLabels := false
		for i, l := range lhs {
			s := lSig[i]
			if !l.present[k] || rightStamp[s] != stamp {
				continue
			}
			if matchedStamp[s] == stamp {
				return nil, errMultipleMatches
			}
			matchedStamp[s] = stamp
			v, keep := binop(e.Op, l.vals[k], rhs[rightAt[s]].vals[k])
			if e.ReturnBool {
				v, keep = btof(keep), true
			}
			if !keep {
				continue
			}
			if outIdx[i] < 0 {
				outIdx[i] = table.get(resultLabels(l.metric, m, dropName))
			}
			o := &table.out[outIdx[i]]
			sameLabels = sameLabels || o.present[k]
			o.set(k, v)
		}
		// Checked after the whole step, like Prometheus checks a step's
		// output vector.
		if sameLabels {
			return nil, errDuplicateLabelset
		}
	}
	return table.result(), nil
}

// resultLabels returns the labels of a one-to-one result: the left side's,
// restricted to on(...) or stripped of ignoring(...).
func resultLabels(l labels.Labels, m *parser.VectorMatching, dropName bool) labels.Labels {
	b := labels.NewBuilder(l)
	if dropName {
		b.Del(labels.MetricName, "__type__", "__unit__")
	}
	if m.On {
		b.Keep(m.MatchingLabels...)
	} else {
		b.Del(m.MatchingLabels...)
	}
	return b.Labels()
}

// duplicateSeriesError is Prometheus's message for two right-hand series
// with the same match signature at one step.
func duplicateSeriesError(m *parser.VectorMatching, a, b labels.Labels) error {
	matched := b.MatchLabels(m.On, m.MatchingLabels...)
	d1, d2 := b.String(), a.String()
	if d1 > d2 {
		d1, d2 = d2, d1
	}
	return fmt.Errorf("found duplicate series for the match group %s on the right hand-side of the operation: [%s, %s]"+
		";many-to-many matching not allowed: matching labels must be unique on one side", matched, d1, d2)
}

// setOp evaluates and, or and unless. Results keep the labels (and name) of
// the side they come from.
func (ev *evaluator) setOp(e *parser.BinaryExpr, lhs, rhs vectorResult) (vectorResult, error) {
	lSig, rSig, nSigs := matchSigs(e.VectorMatching, lhs, rhs)
	lCount, rCount := presentCounts(lhs, ev.grid.n), presentCounts(rhs, ev.grid.n)
	sigStamp := make([]int, nSigs) // signature seen at this step if == step+1
	table := newSeriesTable(ev.grid.n, len(lhs)+len(rhs))
	lOut, rOut := make([]int, len(lhs)), make([]int, len(rhs))
	for i := range lOut {
		lOut[i] = -1
	}
	for i := range rOut {
		rOut[i] = -1
	}
	sameLabels := false
	emit := func(idx *int, s *stepSeries, k int) {
		if *idx < 0 {
			*idx = table.get(s.metric)
		}
		o := &table.out[*idx]
		sameLabels = sameLabels || o.present[k]
		o.set(k, s.vals[k])
	}
	mark := func(v vectorResult, sigs []int, k, stamp int) {
		for i := range v {
			if v[i].present[k] {
				sigStamp[sigs[i]] = stamp
			}
		}
	}

	for k := range ev.grid.n {
		if err := ev.checkCtx(); err != nil {
			return nil, err
		}
		stamp := k + 1
		switch e.Op {
		case parser.LAND:
			if lCount[k] == 0 || rCount[k] == 0 {
				continue
			}
			mark(rhs, rSig, k, stamp)
			for i := range lhs {
				if lhs[i].present[k] && sigStamp[lSig[i]] == stamp {
					emit(&lOut[i], &lhs[i], k)
				}
			}
		case parser.LOR:
			for i := range lhs {
				if lhs[i].present[k] {
					emit(&lOut[i], &lhs[i], k)
				}
			}
			mark(lhs, lSig, k, stamp)
			for j := range rhs {
				if rhs[j].present[k] && sigStamp[rSig[j]] != stamp {
					emit(&rOut[j], &rhs[j], k)
				}
			}
		case parser.LUNLESS:
			mark(rhs, rSig, k, stamp)
			for i := range lhs {
				if lhs[i].present[k] && sigStamp[lSig[i]] != stamp {
					emit(&lOut[i], &lhs[i], k)
				}
			}
		}
		if sameLabels {
			return nil, errDuplicateLabelset
		}
	}
	return table.result(), nil
}
