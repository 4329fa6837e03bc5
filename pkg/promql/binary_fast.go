package promql

import (
	"math"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// Series-wise paths for vector/vector operators. They apply when the
// per-step matching could not fail nor merge anything: then pairing series
// once and walking their points together gives the same result as matching
// at every step, without the per-step bookkeeping.

// setOperationSeriesWise evaluates and, or and unless with, per signature,
// a bitmap of the steps where the other side has a value.
func (ev *evaluator) setOperationSeriesWise(e *parser.BinaryExpr, lhs, rhs Matrix, sides *matchSides) (Matrix, error) {
	words := (ev.steps + 63) / 64
	present := make([][]uint64, sides.n)
	mark := func(m Matrix, sigs []int) {
		for i := range m {
			bits := present[sigs[i]]
			if bits == nil {
				bits = make([]uint64, words)
				present[sigs[i]] = bits
			}
			for _, p := range m[i].Floats {
				k := ev.stepOf(p.T)
				bits[k/64] |= 1 << (k % 64)
			}
			for _, p := range m[i].Histograms {
				k := ev.stepOf(p.T)
				bits[k/64] |= 1 << (k % 64)
			}
		}
	}
	// keep filters the points of m to the steps where the other side's
	// signature is present (want true) or absent (want false).
	keep := func(m Matrix, sigs []int, want bool) Matrix {
		for i := range m {
			bits := present[sigs[i]]
			at := func(t int64) bool {
				if bits == nil {
					return false
				}
				k := ev.stepOf(t)
				return bits[k/64]&(1<<(k%64)) != 0
			}
			fs := m[i].Floats[:0]
			for _, p := range m[i].Floats {
				if at(p.T) == want {
					fs = append(fs, p)
				}
			}
			hs := m[i].Histograms[:0]
			for _, p := range m[i].Histograms {
				if at(p.T) == want {
					hs = append(hs, p)
				}
			}
			m[i].Floats, m[i].Histograms = fs, hs
		}
		return compactEmpty(m)
	}
	var out Matrix
	switch e.Op {
	case parser.LAND:
		mark(rhs, sides.rhs)
		out = keep(lhs, sides.lhs, true)
	case parser.LUNLESS:
		mark(rhs, sides.rhs)
		out = keep(lhs, sides.lhs, false)
	default: // LOR
		mark(lhs, sides.lhs)
		out = append(lhs, keep(rhs, sides.rhs, false)...)
	}
	if out == nil {
		out = Matrix{}
	}
	return mergeSameLabels(out)
}

// joinSeriesWise evaluates an arithmetic or comparison operator between
// float-only vectors series by series. It reports ok=false, and does
// nothing, when the step-by-step path is needed: fill values, histograms,
// several "one"-side series for a signature (which may be an error or not,
// step by step), or pairs whose outputs would share labels.
func (ev *evaluator) joinSeriesWise(e *parser.BinaryExpr, lhs, rhs Matrix, sides *matchSides) (Matrix, bool) {
	m := e.VectorMatching
	if m.FillValues.LHS != nil || m.FillValues.RHS != nil || e.Op == parser.TRIM_LOWER || e.Op == parser.TRIM_UPPER ||
		hasHistograms(lhs) || hasHistograms(rhs) {
		return nil, false
	}
	many, one, manySig, oneSig := lhs, rhs, sides.lhs, sides.rhs
	if m.Card == parser.CardOneToMany {
		many, one, manySig, oneSig = rhs, lhs, sides.rhs, sides.lhs
	}
	oneOf := make([]int, sides.n)
	for i := range oneOf {
		oneOf[i] = -1
	}
	for i, o := range oneSig {
		if oneOf[o] >= 0 {
			return nil, false
		}
		oneOf[o] = i
	}
	if m.Card == parser.CardOneToOne {
		seen := make([]bool, sides.n)
		for _, o := range manySig {
			if seen[o] {
				return nil, false
			}
			seen[o] = true
		}
	}
	j := &joiner{ev: ev, e: e, m: m}
	metrics := make([]labels.Labels, len(many))
	// Outputs sharing labels need the step-wise path; they are found by
	// hash, a collision only costing that path.
	var hbuf [64]uint64
	hashes := hbuf[:0]
	for i := range many {
		r := oneOf[manySig[i]]
		if r < 0 {
			continue
		}
		metrics[i] = j.resultMetric(many[i].Metric, one[r].Metric)
		hashes = append(hashes, metrics[i].Hash())
	}
	if hasRepeats(hashes) {
		return nil, false
	}
	out := make(Matrix, 0, len(many))
	for i := range many {
		r := oneOf[manySig[i]]
		if r < 0 {
			continue
		}
		res := Series{Metric: metrics[i], dropName: e.ReturnBool}
		res.Floats = ev.joinFloats(e, many[i].Floats, one[r].Floats, m.Card == parser.CardOneToMany)
		if len(res.Floats) > 0 {
			out = append(out, res)
		}
	}
	return out, true
}

// joinFloats applies the operator to the points two series have at the same
// steps. swap says the "many" series is the right operand.
func (ev *evaluator) joinFloats(e *parser.BinaryExpr, many, one []FPoint, swap bool) []FPoint {
	out := ev.arena.floats(min(len(many), len(one)))
	for a, b := 0, 0; a < len(many) && b < len(one); {
		switch ta, tb := many[a].T, one[b].T; {
		case ta < tb:
			a++
		case ta > tb:
			b++
		default:
			l, r := many[a].F, one[b].F
			if swap {
				l, r = r, l
			}
			v, keep := floatBinop(e.Op, l, r)
			if e.ReturnBool {
				v, keep = btof(keep), true
			}
			if keep {
				out = append(out, FPoint{T: ta, F: v})
			}
			a++
			b++
		}
	}
	return ev.arena.doneFloats(out)
}

// floatBinop applies an arithmetic or comparison operator to two floats;
// a comparison yields the left value and whether it holds.
func floatBinop(op parser.ItemType, l, r float64) (float64, bool) {
	switch op {
	case parser.ADD:
		return l + r, true
	case parser.SUB:
		return l - r, true
	case parser.MUL:
		return l * r, true
	case parser.DIV:
		return l / r, true
	case parser.POW:
		return math.Pow(l, r), true
	case parser.MOD:
		return math.Mod(l, r), true
	case parser.ATAN2:
		return math.Atan2(l, r), true
	case parser.EQLC:
		return l, l == r
	case parser.NEQ:
		return l, l != r
	case parser.GTR:
		return l, l > r
	case parser.LSS:
		return l, l < r
	case parser.GTE:
		return l, l >= r
	case parser.LTE:
		return l, l <= r
	}
	return 0, false
}
