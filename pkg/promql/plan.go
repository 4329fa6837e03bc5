package promql

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/graftlabs/graft/pkg/storage"
)

// plan is a query ready for evaluation: the rewritten expression, its grid,
// and the storage selections its selectors read.
type plan struct {
	expr     parser.Expr
	start    int64 // ms
	end      int64 // ms
	interval int64 // ms; 0 for an instant query
	lookback int64 // ms
	// maxRes is the coarsest downsampled resolution (ms) the query
	// accepts; 0 reads raw samples only.
	maxRes int64
	// noStepSubq gives the step of subqueries written without one.
	noStepSubq func(rangeMillis int64) int64

	// mint and maxt bound every sample any selector may read; hasSelectors
	// is false for queries such as "1+1" that never open a querier.
	mint, maxt   int64
	hasSelectors bool
	// selectors holds every selector of expr with the storage read it
	// shares with the identical ones. It is a slice searched linearly:
	// queries have few selectors, and building maps cost short queries
	// more than the searches they would save.
	selectors     []plannedSelector
	numSelections int // distinct selections among selectors
	// shared holds the expressions written more than once (cse.go), nil
	// when there are none.
	shared map[parser.Expr]*sharedExpr

	// Room for the planning walks' path and for the selectors and
	// selections of small queries, so that planning one allocates little
	// besides the plan itself (selections point into selectionBuf: a plan
	// must not be copied).
	pathBuf      [8]parser.Node
	selectorBuf  [2]plannedSelector
	selectionBuf [2]selection
}

// plannedSelector is how one selector of the query reads storage.
type plannedSelector struct {
	vs  *parser.VectorSelector
	sel *selection
	// statsOnly says the selector's histograms are read as count and sum
	// only (statsiter.go).
	statsOnly bool
}

// selector returns the plan of vs, nil if vs was not planned.
func (p *plan) selector(vs *parser.VectorSelector) *plannedSelector {
	for i := range p.selectors {
		if p.selectors[i].vs == vs {
			return &p.selectors[i]
		}
	}
	return nil
}

// planOpts are the query's settings that shape its plan.
type planOpts struct {
	lookback   time.Duration
	maxRes     int64 // ms; 0: raw samples only
	noStepSubq func(rangeMillis int64) int64
}

// init rewrites expr for evaluation over qr, the way Prometheus's
// PreprocessExpr does (so that positions in annotations match), then plans
// its storage reads into p, which must be zero. Plans live inside their
// Query: one allocation for both.
func (p *plan) init(expr parser.Expr, qr queryRange, opts planOpts) error {
	p.start, p.end, p.interval = qr.start, qr.end, qr.interval
	p.lookback = opts.lookback.Milliseconds()
	p.maxRes, p.noStepSubq = opts.maxRes, opts.noStepSubq
	p.selectors = p.selectorBuf[:0]
	expr = foldQueryConstants(expr, qr)
	// The walks below share one path buffer.
	path := p.pathBuf[:0]
	if err := resolveDurations(expr, qr, path); err != nil {
		return err
	}
	if invariant, wrap := markStepInvariant(expr, qr); invariant && wrap {
		expr = &parser.StepInvariantExpr{Expr: expr}
	}
	pushDownMatchers(expr, path)
	p.expr = expr
	p.planSelections(path)
	p.findSharedExprs()
	return nil
}

// foldQueryConstants replaces start(), end(), range() and step() by their
// values, so that what depends on them only is recognised as step invariant.
func foldQueryConstants(expr parser.Expr, qr queryRange) parser.Expr {
	if call, ok := expr.(*parser.Call); ok {
		var v float64
		switch call.Func.Name {
		case "start":
			v = float64(qr.start) / 1000
		case "end":
			v = float64(qr.end) / 1000
		case "range":
			v = float64(qr.end-qr.start) / 1000
		case "step":
			v = float64(qr.interval) / 1000
		default:
			for i := range call.Args {
				call.Args[i] = foldQueryConstants(call.Args[i], qr)
			}
			return expr
		}
		return &parser.NumberLiteral{Val: v, PosRange: call.PosRange}
	}
	switch n := expr.(type) {
	case *parser.BinaryExpr:
		n.LHS = foldQueryConstants(n.LHS, qr)
		n.RHS = foldQueryConstants(n.RHS, qr)
	case *parser.AggregateExpr:
		n.Expr = foldQueryConstants(n.Expr, qr)
		if n.Param != nil {
			n.Param = foldQueryConstants(n.Param, qr)
		}
	case *parser.UnaryExpr:
		n.Expr = foldQueryConstants(n.Expr, qr)
	case *parser.ParenExpr:
		n.Expr = foldQueryConstants(n.Expr, qr)
	case *parser.SubqueryExpr:
		n.Expr = foldQueryConstants(n.Expr, qr)
	}
	return expr
}

// resolveDurations evaluates duration expressions (offset (1h/2), [step()*4])
// into the plain durations the rest of the engine reads.
func resolveDurations(expr parser.Expr, qr queryRange, path []parser.Node) error {
	d := durationEvaluator{
		step:       float64(qr.interval) / 1000,
		queryRange: float64(qr.end-qr.start) / 1000,
	}
	return walkExpr(expr, path, func(node parser.Node, _ []parser.Node) error {
		return d.resolve(node)
	})
}

type durationEvaluator struct {
	step, queryRange float64 // seconds
}

func (d durationEvaluator) resolve(node parser.Node) error {
	var err error
	set := func(dst *time.Duration, e *parser.DurationExpr, negativeOK bool) {
		if e == nil || err != nil {
			return
		}
		*dst, err = d.duration(e, negativeOK)
	}
	switch n := node.(type) {
	case *parser.VectorSelector:
		set(&n.OriginalOffset, n.OriginalOffsetExpr, true)
	case *parser.MatrixSelector:
		set(&n.Range, n.RangeExpr, false)
	case *parser.SubqueryExpr:
		set(&n.OriginalOffset, n.OriginalOffsetExpr, true)
		set(&n.Step, n.StepExpr, false)
		set(&n.Range, n.RangeExpr, false)
	}
	return err
}

// duration evaluates e (in seconds) and checks it the way Prometheus does,
// with errors naming the expression's byte offsets.
func (d durationEvaluator) duration(e parser.Expr, negativeOK bool) (time.Duration, error) {
	v, err := d.eval(e)
	if err != nil {
		return 0, err
	}
	pos := e.PositionRange()
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return 0, fmt.Errorf("%d:%d: duration is NaN or infinite", pos.Start, pos.End)
	case v <= 0 && !negativeOK:
		return 0, fmt.Errorf("%d:%d: duration must be greater than 0", pos.Start, pos.End)
	case v > 1<<63/1e9 || v < -(1<<63)/1e9:
		return 0, fmt.Errorf("%d:%d: duration is out of range", pos.Start, pos.End)
	}
	return time.Duration(v*1000) * time.Millisecond, nil
}

func (d durationEvaluator) eval(e parser.Expr) (float64, error) {
	switch n := e.(type) {
	case *parser.NumberLiteral:
		return n.Val, nil
	case *parser.ParenExpr:
		return d.eval(n.Expr)
	case *parser.DurationExpr:
		return d.evalOp(n)
	}
	return 0, fmt.Errorf("unexpected duration expression type %T", e)
}

func (d durationEvaluator) evalOp(n *parser.DurationExpr) (float64, error) {
	var lhs, rhs float64
	var err error
	if n.LHS != nil {
		if lhs, err = d.eval(n.LHS); err != nil {
			return 0, err
		}
	}
	if n.RHS != nil {
		if rhs, err = d.eval(n.RHS); err != nil {
			return 0, err
		}
	}
	pos := n.PositionRange()
	switch n.Op {
	case parser.STEP:
		return d.step, nil
	case parser.RANGE:
		return d.queryRange, nil
	case parser.MIN_OF:
		return math.Min(lhs, rhs), nil
	case parser.MAX_OF:
		return math.Max(lhs, rhs), nil
	case parser.ADD:
		if n.LHS == nil {
			return rhs, nil
		}
		return lhs + rhs, nil
	case parser.SUB:
		if n.LHS == nil {
			return -rhs, nil
		}
		return lhs - rhs, nil
	case parser.MUL:
		return lhs * rhs, nil
	case parser.DIV:
		if rhs == 0 {
			return 0, fmt.Errorf("%d:%d: division by zero", pos.Start, pos.End)
		}
		return lhs / rhs, nil
	case parser.MOD:
		if rhs == 0 {
			return 0, fmt.Errorf("%d:%d: modulo by zero", pos.Start, pos.End)
		}
		return math.Mod(lhs, rhs), nil
	case parser.POW:
		return math.Pow(lhs, rhs), nil
	}
	return 0, fmt.Errorf("unexpected duration expression operator %q", n.Op)
}

// stepUnsafeFuncs are the functions whose value changes with the evaluation
// time even when their arguments do not (or that report sample timestamps).
var stepUnsafeFuncs = map[string]bool{
	"days_in_month": true, "day_of_month": true, "day_of_week": true, "day_of_year": true,
	"end": true, "hour": true, "minute": true, "month": true, "year": true,
	"predict_linear": true, "range": true, "start": true, "step": true, "time": true,
	"timestamp": true,
}

// markStepInvariant wraps the highest subtrees whose value is the same at
// every step (everything they read is pinned with @) in StepInvariantExpr,
// so they are evaluated once. It also resolves @ start() / @ end() and drops
// parentheses around function arguments and aggregation operands, as
// Prometheus does (annotation positions depend on it).
func markStepInvariant(expr parser.Expr, qr queryRange) (invariant, wrap bool) {
	switch n := expr.(type) {
	case *parser.VectorSelector:
		pinAt(&n.Timestamp, n.StartOrEnd, qr)
		return n.Timestamp != nil, n.Timestamp != nil
	case *parser.AggregateExpr:
		n.Expr = unwrapParens(n.Expr)
		if n.Param != nil {
			n.Param = unwrapParens(n.Param)
		}
		return markStepInvariant(n.Expr, qr)
	case *parser.BinaryExpr:
		invL, wrapL := markStepInvariant(n.LHS, qr)
		invR, wrapR := markStepInvariant(n.RHS, qr)
		if invL && invR {
			return true, true
		}
		if wrapL {
			n.LHS = &parser.StepInvariantExpr{Expr: n.LHS}
		}
		if wrapR {
			n.RHS = &parser.StepInvariantExpr{Expr: n.RHS}
		}
		return false, false
	case *parser.Call:
		return markCall(n, qr)
	case *parser.MatrixSelector:
		inv, _ := markStepInvariant(n.VectorSelector, qr)
		return inv, false
	case *parser.SubqueryExpr:
		if inv, _ := markStepInvariant(n.Expr, qr); inv {
			n.Expr = &parser.StepInvariantExpr{Expr: n.Expr}
		}
		pinAt(&n.Timestamp, n.StartOrEnd, qr)
		return n.Timestamp != nil, false
	case *parser.ParenExpr:
		return markStepInvariant(n.Expr, qr)
	case *parser.UnaryExpr:
		return markStepInvariant(n.Expr, qr)
	case *parser.StringLiteral, *parser.NumberLiteral:
		return true, false
	}
	return false, false
}

func markCall(n *parser.Call, qr queryRange) (invariant, wrap bool) {
	invariant = !stepUnsafeFuncs[n.Func.Name]
	// timestamp(x @ t) is invariant although timestamp() in general is not.
	timestampOfPinned := n.Func.Name == "timestamp"
	wraps := make([]bool, len(n.Args))
	for i := range n.Args {
		n.Args[i] = unwrapParens(n.Args[i])
		var argInvariant bool
		argInvariant, wraps[i] = markStepInvariant(n.Args[i], qr)
		if n.Func.Name == "info" && i == 1 {
			wraps[i] = false // a label selector, never evaluated
			continue
		}
		invariant = invariant && argInvariant
		if _, isVS := n.Args[i].(*parser.VectorSelector); !argInvariant || !isVS {
			timestampOfPinned = false
		}
	}
	if n.Func.Name == "info" {
		_, _, uniform := infoReference(n.Args[0])
		invariant = invariant && uniform
	}
	if invariant || timestampOfPinned {
		return true, true
	}
	for i, w := range wraps {
		if w {
			n.Args[i] = &parser.StepInvariantExpr{Expr: n.Args[i]}
		}
	}
	return false, false
}

// pinAt turns @ start() / @ end() into the fixed timestamp they stand for.
func pinAt(ts **int64, startOrEnd parser.ItemType, qr queryRange) {
	switch startOrEnd {
	case parser.START:
		t := qr.start
		*ts = &t
	case parser.END:
		t := qr.end
		*ts = &t
	}
}

func unwrapParens(e parser.Expr) parser.Expr {
	for {
		p, ok := e.(*parser.ParenExpr)
		if !ok {
			return e
		}
		e = p.Expr
	}
}

// selection is one storage Select shared by every identical selector of a
// query: same matchers, read over the union of their time windows.
type selection struct {
	matchers []*labels.Matcher
	hints    storage.SelectHints
	// dsFunc and dsRes key downsampled reads, which return the aggregate
	// dsFunc needs at resolution dsRes: only selectors that need the same
	// share them. dsRes is 0 for raw reads.
	dsFunc string
	dsRes  int64
	// id numbers the query's selections from 0, for the evaluator's
	// per-selection state.
	id int
}

// planSelections registers every selector, computes the window of samples
// it may read, and the overall [mint, maxt] of the querier.
func (p *plan) planSelections(path []parser.Node) {
	p.mint, p.maxt = math.MaxInt64, math.MinInt64
	var rangeMs int64 // range of the matrix selector being visited, if any
	_ = walkExpr(p.expr, path, func(node parser.Node, path []parser.Node) error {
		switch n := node.(type) {
		case *parser.MatrixSelector:
			rangeMs = n.Range.Milliseconds()
		case *parser.Call:
			if n.Func.Name == "info" {
				start, end := p.infoWindow(n.Args[0], path)
				p.widen(start, end)
			}
		case *parser.VectorSelector:
			start, end := p.selectorWindow(n, path, rangeMs)
			p.widen(start, end)
			p.register(n, path, rangeMs, start, end)
			rangeMs = 0
		}
		return nil
	})
	if !p.hasSelectors {
		p.mint, p.maxt = 0, 0
	}
}

func (p *plan) widen(start, end int64) {
	p.hasSelectors = true
	p.mint, p.maxt = min(p.mint, start), max(p.maxt, end)
}

func (p *plan) register(vs *parser.VectorSelector, path []parser.Node, rangeMs, start, end int64) {
	fn := enclosingFunc(path)
	res := p.selectorResolution(vs, fn, rangeMs)
	step := p.interval
	if s := p.lastSubqueryStep(path); s > 0 {
		step = s
	}
	sel := p.sharedSelection(vs.LabelMatchers, fn, res)
	if sel == nil {
		sel = p.newSelection()
		*sel = selection{
			matchers: vs.LabelMatchers,
			// Results come out in label order regardless; like Prometheus,
			// the engine reads series in whatever order storage has them.
			hints:  storage.SelectHints{Start: start, End: end, Step: step, Range: rangeMs, Func: fn, MaxResolution: res, Unsorted: true},
			dsFunc: fn,
			dsRes:  res,
			id:     p.numSelections,
		}
		p.numSelections++
	} else {
		h := &sel.hints
		h.Start, h.End = min(h.Start, start), max(h.End, end)
		if h.Func != fn {
			h.Func = ""
		}
		h.Range = max(h.Range, rangeMs)
		h.Step = min(h.Step, step)
	}
	p.selectors = append(p.selectors, plannedSelector{vs: vs, sel: sel, statsOnly: readsStatsOnly(path)})
}

// newSelection returns room for one more selection, inside the plan while
// there is.
func (p *plan) newSelection() *selection {
	if p.numSelections < len(p.selectionBuf) {
		return &p.selectionBuf[p.numSelections]
	}
	return &selection{}
}

// sharedSelection returns the selection already planned for a selector
// with the same matchers reading at the same resolution, or nil.
func (p *plan) sharedSelection(ms []*labels.Matcher, fn string, res int64) *selection {
	for _, ps := range p.selectors {
		s := ps.sel
		if s.dsRes == res && (res == 0 || s.dsFunc == fn) && sameMatchers(s.matchers, ms) {
			return s
		}
	}
	return nil
}

func sameMatchers(a, b []*labels.Matcher) bool {
	return slices.EqualFunc(a, b, func(x, y *labels.Matcher) bool {
		return x.Type == y.Type && x.Name == y.Name && x.Value == y.Value
	})
}

// enclosingFunc names the function or aggregation a selector feeds, for the
// storage's hints. Binary operators hide it, and so do subqueries: a
// function above one reads the subquery's points, not the selector's
// samples (sum_over_time(x[1h:1m]) must not read x's window sums).
func enclosingFunc(path []parser.Node) string {
	for i := len(path) - 1; i >= 0; i-- {
		switch n := path[i].(type) {
		case *parser.AggregateExpr:
			return n.Op.String()
		case *parser.Call:
			return n.Func.Name
		case *parser.BinaryExpr, *parser.SubqueryExpr:
			return ""
		}
	}
	return ""
}

func (p *plan) lastSubqueryStep(path []parser.Node) int64 {
	var step int64
	for _, n := range path {
		if sq, ok := n.(*parser.SubqueryExpr); ok {
			step = p.subqueryStep(sq)
		}
	}
	return step
}

func (p *plan) subqueryStep(sq *parser.SubqueryExpr) int64 {
	if sq.Step != 0 {
		return sq.Step.Milliseconds()
	}
	return p.noStepSubq(sq.Range.Milliseconds())
}

// subqueryShift sums the offsets and ranges of the subqueries above a node;
// an @ on a subquery restarts the sum from its fixed time.
func subqueryShift(path []parser.Node) (offset, rng int64, at *int64) {
	for _, node := range path {
		sq, ok := node.(*parser.SubqueryExpr)
		if !ok {
			continue
		}
		offset += sq.OriginalOffset.Milliseconds()
		rng += sq.Range.Milliseconds()
		if sq.Timestamp != nil {
			offset, rng = sq.OriginalOffset.Milliseconds(), sq.Range.Milliseconds()
			at = sq.Timestamp
		}
	}
	return offset, rng, at
}

// selectorWindow returns the [start, end] (ms) of samples vs may read over
// the whole query: its steps, widened by subqueries above it, its lookback
// or range, and its offset.
func (p *plan) selectorWindow(vs *parser.VectorSelector, path []parser.Node, rangeMs int64) (start, end int64) {
	start, end = p.start, p.end
	sqOffset, sqRange, sqAt := subqueryShift(path)
	if sqAt != nil {
		start, end = *sqAt, *sqAt
	}
	if vs.Timestamp != nil {
		start, end = *vs.Timestamp, *vs.Timestamp
	} else {
		start -= sqOffset + sqRange
		end -= sqOffset
	}
	switch {
	case rangeMs == 0:
		start -= p.lookback - 1
		if vs.Smoothed {
			end += p.lookback
		}
	case vs.Anchored:
		start -= p.lookback + rangeMs - 1
	case vs.Smoothed:
		start -= p.lookback + rangeMs - 1
		end += p.lookback
	default:
		start -= rangeMs - 1
	}
	off := vs.OriginalOffset.Milliseconds()
	return start - off, end - off
}

// infoWindow is the window info() reads its metadata series over.
func (p *plan) infoWindow(arg parser.Expr, path []parser.Node) (start, end int64) {
	at, offset := infoSelectReference(arg)
	return p.selectorWindow(&parser.VectorSelector{Timestamp: at, OriginalOffset: offset}, path, 0)
}
