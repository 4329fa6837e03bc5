package promql

import (
	"strconv"
	"strings"

	"github.com/prometheus/prometheus/promql/parser"
)

// Common subexpressions. A vector expression written twice in one query,
// as in
//
//	histogram_count(sum(rate(h[5m]))) / histogram_sum(sum(rate(h[5m])))
//
// is evaluated once: the first use evaluates it and keeps a copy, later
// uses take copies, the last one the kept copy itself. Copies, because
// operators may rewrite their operands in place. Only expressions
// evaluated over the query's own grid are shared (none inside a subquery
// or a step-invariant subtree), and only between occurrences that read
// storage the same way (the same selections, statsOnly alike), which the
// key says.

// sharedExpr is one expression occurring uses times in a query.
type sharedExpr struct {
	uses int
}

// sharedValue is the kept copy of a shared expression's value.
type sharedValue struct {
	m      Matrix
	left   int // uses still to come
	points int // charged to the sample budget while kept
}

// findSharedExprs fills p.shared with the expressions of p.expr that occur
// more than once. A repeated expression reads storage, so a selection
// read by two selectors is the cheap precondition most queries fail.
func (p *plan) findSharedExprs() {
	if len(p.selectors) == p.numSelections {
		return
	}
	byKey := map[string]*sharedExpr{}
	all := map[parser.Expr]*sharedExpr{}
	p.countExprs(p.expr, byKey, all)
	for e, s := range all {
		if s.uses < 2 {
			delete(all, e)
		}
	}
	if len(all) > 0 {
		p.shared = all
	}
}

// countExprs counts the occurrences of each shareable expression under e;
// the descendants of a repeated occurrence are not visited again: they
// are evaluated once, within the first.
func (p *plan) countExprs(e parser.Expr, byKey map[string]*sharedExpr, all map[parser.Expr]*sharedExpr) {
	switch e.(type) {
	case *parser.SubqueryExpr, *parser.StepInvariantExpr:
		return // other grids
	case *parser.Call, *parser.AggregateExpr, *parser.BinaryExpr:
		if e.Type() == parser.ValueTypeVector {
			key := p.exprKey(e)
			if s, ok := byKey[key]; ok {
				s.uses++
				all[e] = s
				return
			}
			s := &sharedExpr{uses: 1}
			byKey[key], all[e] = s, s
		}
	}
	for _, c := range parser.Children(e) {
		if ce, ok := c.(parser.Expr); ok {
			p.countExprs(ce, byKey, all)
		}
	}
}

// exprKey identifies e: its text and, per selector, the selection it reads
// and whether it reads histogram statistics only.
func (p *plan) exprKey(e parser.Expr) string {
	var b strings.Builder
	b.WriteString(e.String())
	_ = walkExpr(e, p.pathBuf[:0], func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			b.WriteByte(0)
			if ps := p.selector(vs); ps != nil {
				b.WriteString(strconv.Itoa(ps.sel.id))
				if ps.statsOnly {
					b.WriteByte('s')
				}
			}
		}
		return nil
	})
	return b.String()
}

// evalShared evaluates a shared expression, or takes its kept value.
func (ev *evaluator) evalShared(e parser.Expr, s *sharedExpr) (any, error) {
	if kept := ev.sharedVals[s]; kept != nil {
		kept.left--
		if kept.left > 0 {
			return ev.copyMatrix(kept.m), nil
		}
		delete(ev.sharedVals, s)
		ev.budget.unpin(kept.points)
		return kept.m, nil
	}
	val, err := ev.evalExpr(e)
	m, ok := val.(Matrix)
	if err != nil || !ok {
		return val, err
	}
	kept := &sharedValue{m: ev.copyMatrix(m), left: s.uses - 1, points: m.points()}
	if err := ev.budget.pin(kept.points); err != nil {
		return nil, err
	}
	ev.sharedVals[s] = kept
	return m, nil
}

// copyMatrix copies m's series and points (histograms too) into the
// query's arena.
func (ev *evaluator) copyMatrix(m Matrix) Matrix {
	out := make(Matrix, len(m))
	for i, s := range m {
		out[i] = s
		if len(s.Floats) > 0 {
			out[i].Floats = append(ev.arena.floats(len(s.Floats)), s.Floats...)
		}
		if len(s.Histograms) > 0 {
			hs := ev.arena.hists(len(s.Histograms))[:len(s.Histograms)]
			for j, p := range s.Histograms {
				hs[j] = HPoint{T: p.T, H: copyHistogram(p.H)}
			}
			out[i].Histograms = hs
		}
	}
	return out
}
