package promql

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/util/annotations"

	"github.com/graftlabs/graft/pkg/storage"
)

// Node values. An instant-vector node yields a Matrix whose points sit on the
// evaluator's step timestamps; a scalar node one float per step.
type (
	scalarValue []float64
	// rangeValue is a range vector with its samples' own timestamps: only a
	// matrix selector or a subquery at the root of an instant query.
	rangeValue Matrix
)

type evalOptions struct {
	maxSamples  int
	parallelism int
	delayedName bool
	useST       bool
	regexes     *regexCache // the engine's
}

// evaluator evaluates expressions over one step grid. Subqueries and
// step-invariant subtrees get child evaluators with their own grid; the
// querier, series cache, sample budget and annotations are shared.
type evaluator struct {
	ctx  context.Context
	plan *plan
	opts evalOptions

	start, end, interval int64 // the grid, ms; interval is 1 for one step
	steps                int

	querier storage.Querier
	// concurrentReads says the querier's series may be read from several
	// goroutines at once.
	concurrentReads bool
	series          *seriesCache
	arena           *pointArena
	budget          *sampleBudget
	annos           annotations.Annotations
	annoMu          *sync.Mutex
	// sharedVals keeps the values of shared expressions for their later
	// uses (cse.go): set in the root evaluator of queries that have some,
	// nil elsewhere.
	sharedVals map[*sharedExpr]*sharedValue
}

// queryState is what one execution of a query needs besides its nodes'
// values, allocated in one piece: a short query costs about as much per
// allocation as per sample.
type queryState struct {
	deadline deadlineCtx
	ev       evaluator
	budget   sampleBudget
	annoMu   sync.Mutex
	series   seriesCache
	// entries backs series.entries for queries with few selections.
	entries [2]cacheEntry
}

// newEvaluator returns the root evaluator of a query, allocating points
// from arena.
func (st *queryState) newEvaluator(ctx context.Context, p *plan, opts evalOptions, arena *pointArena) *evaluator {
	interval := p.interval
	if interval == 0 {
		interval = 1
	}
	st.budget.max = int64(opts.maxSamples)
	if n := p.numSelections; n > len(st.entries) {
		st.series.entries = make([]cacheEntry, n)
	} else {
		st.series.entries = st.entries[:n]
	}
	st.ev = evaluator{
		ctx:      ctx,
		plan:     p,
		opts:     opts,
		start:    p.start,
		end:      p.end,
		interval: interval,
		budget:   &st.budget,
		annoMu:   &st.annoMu,
		arena:    arena,
		series:   &st.series,
	}
	ev := &st.ev
	ev.steps = int((ev.end-ev.start)/ev.interval) + 1
	if p.shared != nil {
		ev.sharedVals = map[*sharedExpr]*sharedValue{}
	}
	return ev
}

// child returns an evaluator over another grid sharing everything else.
func (ev *evaluator) child(start, end, interval int64) *evaluator {
	c := *ev
	c.start, c.end, c.interval = start, end, interval
	c.steps = 0
	if end >= start {
		c.steps = int((end-start)/interval) + 1
	}
	c.annos = nil
	c.sharedVals = nil
	return &c
}

// adopt merges the annotations of a child evaluator.
func (ev *evaluator) adopt(c *evaluator) { ev.annotate(c.annos) }

// openQuerier opens one querier covering every sample the plan reads.
// Queries without selectors never open one.
func (ev *evaluator) openQuerier(q storage.Queryable) error {
	if !ev.plan.hasSelectors {
		return nil
	}
	if q == nil {
		return errors.New("query selects series but no storage was given")
	}
	querier, err := q.Querier(ev.plan.mint, ev.plan.maxt)
	if err != nil {
		return fmt.Errorf("opening querier: %w", err)
	}
	ev.querier = querier
	ev.series.querier = querier
	if c, ok := querier.(storage.ConcurrentQuerier); ok {
		ev.concurrentReads = c.ConcurrentReads()
	}
	return nil
}

func (ev *evaluator) close() {
	if ev.querier != nil {
		_ = ev.querier.Close() // read-only querier: nothing to flush
	}
}

// ts returns the timestamp of step i.
func (ev *evaluator) ts(i int) int64 { return ev.start + int64(i)*ev.interval }

// stepOf returns the step index of timestamp t, which must be on the grid.
func (ev *evaluator) stepOf(t int64) int { return int((t - ev.start) / ev.interval) }

func (ev *evaluator) instant() bool { return ev.start == ev.end }

// annotate records annotations; safe from parallel workers.
func (ev *evaluator) annotate(a annotations.Annotations) {
	if len(a) == 0 {
		return
	}
	ev.annoMu.Lock()
	ev.annos.Merge(a)
	ev.annoMu.Unlock()
}

func (ev *evaluator) warn(err error) {
	ev.annoMu.Lock()
	ev.annos.Add(err)
	ev.annoMu.Unlock()
}

// checkCtx is called per node, per series and per step batch.
func (ev *evaluator) checkCtx() error {
	if err := ev.ctx.Err(); err != nil {
		return contextError(err, "expression evaluation")
	}
	return nil
}

// evalRoot evaluates the query's expression and shapes the result as the
// query type asks: Vector or Scalar for instant queries, sorted Matrix for
// range queries and range-vector results.
func (ev *evaluator) evalRoot(expr parser.Expr) (Value, error) {
	val, err := ev.eval(expr)
	if err != nil {
		return nil, err
	}
	switch v := val.(type) {
	case String:
		return v, nil
	case scalarValue:
		if ev.plan.interval == 0 {
			return Scalar{T: ev.start, V: v[0]}, nil
		}
		m := Matrix{{Metric: labels.EmptyLabels(), Floats: ev.arena.floats(len(v))[:len(v)]}}
		for i, f := range v {
			m[0].Floats[i] = FPoint{T: ev.ts(i), F: f}
		}
		return m, nil
	case rangeValue:
		m, err := ev.finishNames(Matrix(v))
		if err != nil {
			return nil, err
		}
		m.sortByLabels()
		return m, nil
	case Matrix:
		m, err := ev.finishNames(v)
		if err != nil {
			return nil, err
		}
		if ev.plan.interval == 0 {
			return toVector(m, ev.start), nil
		}
		m.sortByLabels()
		return m, nil
	}
	return nil, fmt.Errorf("unexpected result type %T", val)
}

// toVector turns a one-step matrix into a Vector, keeping its order.
func toVector(m Matrix, t int64) Vector {
	out := make(Vector, 0, len(m))
	for _, s := range m {
		switch {
		case len(s.Histograms) > 0:
			out = append(out, Sample{Metric: s.Metric, T: t, H: s.Histograms[0].H})
		case len(s.Floats) > 0:
			out = append(out, Sample{Metric: s.Metric, T: t, F: s.Floats[0].F})
		}
	}
	return out
}

// finishNames applies delayed name removal at the end of evaluation.
func (ev *evaluator) finishNames(m Matrix) (Matrix, error) {
	if !ev.opts.delayedName {
		return m, nil
	}
	for i := range m {
		if m[i].dropName {
			m[i].Metric = dropMetricName(m[i].Metric)
			m[i].dropName = false
		}
	}
	return mergeSameLabels(m)
}

// eval evaluates expr over the grid, keeping the sample budget: while a node
// runs its children's results are held; afterwards only its own output is.
func (ev *evaluator) eval(expr parser.Expr) (any, error) {
	if err := ev.checkCtx(); err != nil {
		return nil, err
	}
	if ev.steps <= 0 {
		return Matrix{}, nil
	}
	mark, pinned := ev.budget.current(), ev.budget.pinned
	val, err := ev.evalNode(expr)
	if err != nil {
		return nil, err
	}
	// Values kept for shared expressions stay charged.
	return val, ev.budget.settle(mark+ev.budget.pinned-pinned, valuePoints(val))
}

func valuePoints(v any) int {
	switch v := v.(type) {
	case Matrix:
		return v.points()
	case rangeValue:
		return Matrix(v).points()
	case scalarValue:
		return len(v)
	}
	return 0
}

func (ev *evaluator) evalNode(expr parser.Expr) (any, error) {
	if ev.sharedVals != nil {
		if s := ev.plan.shared[expr]; s != nil {
			return ev.evalShared(expr, s)
		}
	}
	return ev.evalExpr(expr)
}

func (ev *evaluator) evalExpr(expr parser.Expr) (any, error) {
	switch e := expr.(type) {
	case *parser.NumberLiteral:
		return ev.constScalar(e.Val), nil
	case *parser.StringLiteral:
		return String{T: ev.start, V: e.Val}, nil
	case *parser.ParenExpr:
		return ev.evalNode(e.Expr)
	case *parser.UnaryExpr:
		return ev.evalUnary(e)
	case *parser.VectorSelector:
		return ev.evalVectorSelector(e, selectValues)
	case *parser.MatrixSelector:
		return ev.evalMatrixSelector(e)
	case *parser.SubqueryExpr:
		m, err := ev.evalSubquery(e)
		return rangeValue(m), err
	case *parser.Call:
		return ev.evalCall(e)
	case *parser.AggregateExpr:
		return ev.evalAggregate(e)
	case *parser.BinaryExpr:
		return ev.evalBinary(e)
	case *parser.StepInvariantExpr:
		return ev.evalStepInvariant(e)
	}
	return nil, fmt.Errorf("unexpected expression type %T", expr)
}

// evalVector evaluates an expression the parser typed as an instant vector.
func (ev *evaluator) evalVector(expr parser.Expr) (Matrix, error) {
	res, err := ev.eval(expr)
	if err != nil {
		return nil, err
	}
	v, ok := res.(Matrix)
	if !ok {
		return nil, fmt.Errorf("expected instant vector from %q, got %T", expr, res)
	}
	return v, nil
}

// evalScalar evaluates an expression the parser typed as a scalar.
func (ev *evaluator) evalScalar(expr parser.Expr) (scalarValue, error) {
	res, err := ev.eval(expr)
	if err != nil {
		return nil, err
	}
	s, ok := res.(scalarValue)
	if !ok {
		return nil, fmt.Errorf("expected scalar from %q, got %T", expr, res)
	}
	return s, nil
}

func (ev *evaluator) constScalar(v float64) scalarValue {
	out := make(scalarValue, ev.steps)
	for i := range out {
		out[i] = v
	}
	return out
}

// evalStepInvariant evaluates a subtree whose value does not depend on the
// step once, at the first step, and repeats it over the grid.
func (ev *evaluator) evalStepInvariant(e *parser.StepInvariantExpr) (any, error) {
	one := ev.child(ev.start, ev.start, ev.interval)
	read := ev.budget.readSoFar()
	val, err := one.eval(e.Expr)
	ev.adopt(one)
	if err != nil || ev.steps == 1 {
		return val, err
	}
	// Prometheus's stats count what the expression read at every step.
	ev.budget.countRead(int(ev.budget.readSoFar()-read) * (ev.steps - 1))
	switch v := val.(type) {
	case scalarValue:
		return ev.constScalar(v[0]), nil
	case Matrix:
		for i := range v {
			s := &v[i]
			if len(s.Floats) == 1 {
				f := s.Floats[0].F
				s.Floats = ev.arena.floats(ev.steps)[:ev.steps]
				for k := range s.Floats {
					s.Floats[k] = FPoint{T: ev.ts(k), F: f}
				}
			} else if len(s.Histograms) == 1 {
				h := s.Histograms[0].H
				s.Histograms = ev.arena.hists(ev.steps)[:ev.steps]
				for k := range s.Histograms {
					s.Histograms[k] = HPoint{T: ev.ts(k), H: h}
				}
			}
		}
		return v, ev.budget.add(v.points())
	}
	return val, nil
}

// evalUnary handles unary minus (unary plus is a no-op). Negation drops the
// metric name.
func (ev *evaluator) evalUnary(e *parser.UnaryExpr) (any, error) {
	res, err := ev.eval(e.Expr)
	if err != nil || e.Op != parser.SUB {
		return res, err
	}
	switch r := res.(type) {
	case scalarValue:
		for i := range r {
			r[i] = -r[i]
		}
		return r, nil
	case Matrix:
		for i := range r {
			s := &r[i]
			ev.markDropName(s)
			for k := range s.Floats {
				s.Floats[k].F = -s.Floats[k].F
			}
			for k := range s.Histograms {
				s.Histograms[k].H = s.Histograms[k].H.Copy().Mul(-1)
			}
		}
		if ev.opts.delayedName {
			return r, nil
		}
		return mergeSameLabels(r)
	}
	return nil, fmt.Errorf("unary minus on unexpected %T", res)
}

// sampleBudget enforces MaxSamples: cur counts the samples held by live
// node results and buffered windows. It is shared by parallel workers.
type sampleBudget struct {
	max int64
	cur atomic.Int64
	// pinned is what the values kept for shared expressions hold (root
	// evaluator only: no atomic).
	pinned int64
	peak   atomic.Int64
	mu     sync.Mutex // guards read
	read   int64      // samples read from storage, for stats
}

func (b *sampleBudget) current() int64 { return b.cur.Load() }

func (b *sampleBudget) add(n int) error {
	c := b.cur.Add(int64(n))
	if c > b.max {
		return errTooManySamples
	}
	// Workers add at once: raise the peak without losing a higher one.
	for p := b.peak.Load(); c > p && !b.peak.CompareAndSwap(p, c); p = b.peak.Load() {
	}
	return nil
}

func (b *sampleBudget) release(n int) { b.cur.Add(int64(-n)) }

// pin charges n points kept beyond the node that made them.
func (b *sampleBudget) pin(n int) error {
	b.pinned += int64(n)
	return b.add(n)
}

func (b *sampleBudget) unpin(n int) {
	b.pinned -= int64(n)
	b.release(n)
}

// settle sets the budget to mark plus a node's output once the node returns.
func (b *sampleBudget) settle(mark int64, out int) error {
	b.cur.Store(mark)
	return b.add(out)
}

// readSoFar is the number of samples recorded by countRead.
func (b *sampleBudget) readSoFar() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.read
}

// countRead records samples read from storage.
func (b *sampleBudget) countRead(n int) {
	b.mu.Lock()
	b.read += int64(n)
	b.mu.Unlock()
}
