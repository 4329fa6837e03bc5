package querycache

import (
	"sync"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/graftlabs/graft/pkg/promql"
)

// splittable says whether evaluating expr over parts of a range gives, at
// every step, what evaluating it over the whole range gives. What breaks it
// is anything that reads the query's own start or end: @ start(), @ end(),
// the start(), end() and range() functions and range() in durations.
// step() is fine: parts keep the step. Subqueries are fine: the engine
// aligns their grids to multiples of their step, not to the query's start.
// An expression that does not parse is not splittable: the engine reports
// the error.
func splittable(p parser.Parser, expr string) bool {
	e, err := p.ParseExpr(expr)
	if err != nil {
		return false
	}
	ok := true
	parser.Inspect(e, func(node parser.Node, _ []parser.Node) error {
		if ok && !nodeSplittable(node) {
			ok = false
		}
		return nil
	})
	return ok
}

func nodeSplittable(node parser.Node) bool {
	switch n := node.(type) {
	case *parser.VectorSelector:
		return n.StartOrEnd == 0 && durationSplittable(n.OriginalOffsetExpr)
	case *parser.MatrixSelector:
		return durationSplittable(n.RangeExpr)
	case *parser.SubqueryExpr:
		return n.StartOrEnd == 0 && durationSplittable(n.OriginalOffsetExpr) &&
			durationSplittable(n.RangeExpr) && durationSplittable(n.StepExpr)
	case *parser.Call:
		switch n.Func.Name {
		case "start", "end", "range":
			return false
		}
	}
	return true
}

// durationSplittable walks a duration expression, which parser.Inspect
// does not enter.
func durationSplittable(e parser.Expr) bool {
	switch n := e.(type) {
	case *parser.DurationExpr:
		if n == nil {
			return true
		}
		switch n.Op {
		case parser.RANGE, parser.START, parser.END:
			return false
		}
		return durationSplittable(n.LHS) && durationSplittable(n.RHS)
	case *parser.ParenExpr:
		return durationSplittable(n.Expr)
	case *parser.Call:
		return nodeSplittable(n)
	}
	return true
}

// analyzer remembers which expressions are splittable: dashboards send the
// same few again and again, and parsing is most of a hit's cost otherwise.
type analyzer struct {
	parser parser.Parser
	mtx    sync.Mutex
	memo   map[string]bool
}

// maxMemo bounds the remembered expressions; the memo restarts when full.
const maxMemo = 4096

func newAnalyzer() *analyzer {
	return &analyzer{parser: parser.NewParser(promql.AllFeatures), memo: map[string]bool{}}
}

func (a *analyzer) splittable(expr string) bool {
	a.mtx.Lock()
	ok, known := a.memo[expr]
	a.mtx.Unlock()
	if known {
		return ok
	}
	ok = splittable(a.parser, expr)
	a.mtx.Lock()
	if len(a.memo) >= maxMemo {
		clear(a.memo)
	}
	a.memo[expr] = ok
	a.mtx.Unlock()
	return ok
}
