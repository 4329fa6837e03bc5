package promql

import "github.com/prometheus/prometheus/promql/parser"

// walkExpr calls visit on node and its descendants in pre-order (the order
// of parser.Inspect), with the ancestors of each node in path. Unlike
// parser.Inspect it allocates nothing but the growth of path, whose backing
// array is reused by siblings: planning walks every query's tree several
// times, and for short queries those walks cost as much as evaluating them.
// visit must not keep path. An error from visit stops the walk.
func walkExpr(node parser.Node, path []parser.Node, visit func(node parser.Node, path []parser.Node) error) error {
	if err := visit(node, path); err != nil {
		return err
	}
	path = append(path, node)
	switch n := node.(type) {
	case *parser.AggregateExpr:
		if n.Expr != nil {
			if err := walkExpr(n.Expr, path, visit); err != nil {
				return err
			}
		}
		if n.Param != nil {
			return walkExpr(n.Param, path, visit)
		}
	case *parser.BinaryExpr:
		if err := walkExpr(n.LHS, path, visit); err != nil {
			return err
		}
		return walkExpr(n.RHS, path, visit)
	case *parser.Call:
		for _, a := range n.Args {
			if err := walkExpr(a, path, visit); err != nil {
				return err
			}
		}
	case *parser.SubqueryExpr:
		return walkExpr(n.Expr, path, visit)
	case *parser.ParenExpr:
		return walkExpr(n.Expr, path, visit)
	case *parser.UnaryExpr:
		return walkExpr(n.Expr, path, visit)
	case *parser.MatrixSelector:
		return walkExpr(n.VectorSelector, path, visit)
	case *parser.StepInvariantExpr:
		return walkExpr(n.Expr, path, visit)
	case parser.Expressions:
		for _, e := range n {
			if err := walkExpr(e, path, visit); err != nil {
				return err
			}
		}
	}
	return nil
}
