package promql

import (
	"slices"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// pushDownMatchers copies equality matchers across set operators when no
// series they exclude could ever take part in the result, so that storage
// returns fewer series:
//
//	a{job="x"} and on(job) b     reads  b{job="x"}
//	a and on(job) b{job="x"}     reads  a{job="x"}
//	a{job="x"} unless on(job) b  reads  b{job="x"}
//
// A series of the other side with a different value of a matching label
// has a different signature from every series of this side. Arithmetic and
// comparisons are left alone: there, unmatched series can still fail a
// query (duplicate series on the "one" side), and Graft must fail it too.
func pushDownMatchers(expr parser.Expr, path []parser.Node) {
	_ = walkExpr(expr, path, func(node parser.Node, _ []parser.Node) error {
		b, ok := node.(*parser.BinaryExpr)
		if !ok || b.VectorMatching == nil {
			return nil
		}
		lhs, lok := unwrapParens(b.LHS).(*parser.VectorSelector)
		rhs, rok := unwrapParens(b.RHS).(*parser.VectorSelector)
		if !lok || !rok {
			return nil
		}
		switch b.Op {
		case parser.LAND:
			copyMatchers(lhs, rhs, b.VectorMatching)
			copyMatchers(rhs, lhs, b.VectorMatching)
		case parser.LUNLESS:
			copyMatchers(lhs, rhs, b.VectorMatching)
		}
		return nil
	})
}

// copyMatchers adds to dst the equality matchers of src on labels that are
// part of the join signature.
func copyMatchers(src, dst *parser.VectorSelector, m *parser.VectorMatching) {
	for _, sm := range src.LabelMatchers {
		if sm.Type != labels.MatchEqual || sm.Value == "" || sm.Name == labels.MetricName {
			continue
		}
		if m.On != slices.Contains(m.MatchingLabels, sm.Name) {
			continue // not in the signature
		}
		if slices.ContainsFunc(dst.LabelMatchers, func(d *labels.Matcher) bool {
			return d.Name == sm.Name && d.Type == sm.Type && d.Value == sm.Value
		}) {
			continue
		}
		dst.LabelMatchers = append(dst.LabelMatchers, sm)
	}
}
