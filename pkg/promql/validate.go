package promql

import (
	"fmt"

	"github.com/prometheus/prometheus/promql/parser"
)

// checkSupported walks the parsed query and rejects, as bad_data naming the
// position, every construct this version of Graft does not evaluate. Doing it
// up front means an unsupported query never touches storage.
func checkSupported(expr parser.Expr, query string) error {
	var err error
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		if err == nil {
			err = checkNode(node, query)
		}
		return err // a non-nil error stops the walk
	})
	return err
}

func checkNode(node parser.Node, query string) error {
	switch n := node.(type) {
	case *parser.SubqueryExpr:
		return unsupported(query, n, "subquery")
	case *parser.DurationExpr:
		return unsupported(query, n, "duration expression")
	case *parser.Call:
		if !isSupportedFunc(n.Func.Name) {
			return unsupported(query, n, fmt.Sprintf("function %q", n.Func.Name))
		}
	case *parser.AggregateExpr:
		if !isSupportedAggregation(n.Op) {
			return unsupported(query, n, fmt.Sprintf("aggregation %q", n.Op.String()))
		}
	case *parser.BinaryExpr:
		return checkBinary(n, query)
	case *parser.MatrixSelector:
		if n.RangeExpr != nil {
			return unsupported(query, n, "duration expression")
		}
	case *parser.VectorSelector:
		return checkSelector(n, query)
	}
	return nil
}

func checkSelector(vs *parser.VectorSelector, query string) error {
	switch {
	case vs.OriginalOffsetExpr != nil:
		return unsupported(query, vs, "duration expression")
	case vs.Anchored:
		return unsupported(query, vs, "anchored modifier")
	case vs.Smoothed:
		return unsupported(query, vs, "smoothed modifier")
	}
	return nil
}

func checkBinary(e *parser.BinaryExpr, query string) error {
	if !isSupportedBinaryOp(e.Op) {
		return unsupported(query, e, fmt.Sprintf("binary operator %q", e.Op.String()))
	}
	m := e.VectorMatching
	if m == nil {
		return nil
	}
	switch {
	case m.Card == parser.CardManyToOne:
		return unsupported(query, e, "group_left modifier")
	case m.Card == parser.CardOneToMany:
		return unsupported(query, e, "group_right modifier")
	case m.FillValues.LHS != nil || m.FillValues.RHS != nil:
		return unsupported(query, e, "fill modifier")
	}
	return nil
}

func isSupportedAggregation(op parser.ItemType) bool {
	switch op {
	case parser.SUM, parser.AVG, parser.MIN, parser.MAX, parser.COUNT:
		return true
	}
	return false
}

func isSupportedBinaryOp(op parser.ItemType) bool {
	switch op {
	case parser.ADD, parser.SUB, parser.MUL, parser.DIV, parser.MOD, parser.POW, parser.ATAN2,
		parser.EQLC, parser.NEQ, parser.GTR, parser.LSS, parser.GTE, parser.LTE,
		parser.LAND, parser.LOR, parser.LUNLESS:
		return true
	}
	return false
}

// unsupported builds the bad_data error for a construct Graft lacks, with the
// line:column of the node in the query.
func unsupported(query string, n parser.Node, what string) error {
	pos := n.PositionRange().StartPosInput(query, 0)
	return badData("unsupported in this version of Graft: %s at %s", what, pos)
}
