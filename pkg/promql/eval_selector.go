package promql

import (
	"errors"
	"fmt"
	"math"

	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/graftlabs/graft/pkg/storage"
)

// openQuerier opens one querier covering every sample any selector of expr
// can read. Queries without selectors (e.g. "1+1") never open one.
func (ev *evaluator) openQuerier(q storage.Queryable, expr parser.Expr) error {
	mint, maxt := int64(math.MaxInt64), int64(math.MinInt64)
	parser.Inspect(expr, func(node parser.Node, path []parser.Node) error {
		vs, ok := node.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		lo, hi := ev.selectorWindow(vs, enclosingRange(path))
		mint, maxt = min(mint, lo), max(maxt, hi)
		return nil
	})
	if mint > maxt {
		return nil
	}
	if q == nil {
		return errors.New("query selects series but no storage was given")
	}
	querier, err := q.Querier(mint, maxt)
	if err != nil {
		return fmt.Errorf("opening querier: %w", err)
	}
	ev.querier = querier
	return nil
}

// enclosingRange returns the range in ms of the matrix selector directly
// around a vector selector, or 0 for an instant selector.
func enclosingRange(path []parser.Node) int64 {
	if len(path) == 0 {
		return 0
	}
	if ms, ok := path[len(path)-1].(*parser.MatrixSelector); ok {
		return ms.Range.Milliseconds()
	}
	return 0
}

// atTime returns the fixed evaluation time of a selector with an @ modifier.
func (ev *evaluator) atTime(vs *parser.VectorSelector) (int64, bool) {
	switch {
	case vs.Timestamp != nil:
		return *vs.Timestamp, true
	case vs.StartOrEnd == parser.START:
		return ev.qStart, true
	case vs.StartOrEnd == parser.END:
		return ev.qEnd, true
	}
	return 0, false
}

// refTime returns the timestamp a selector looks at for step i: the step
// (or the @ time) moved back by the offset.
func (ev *evaluator) refTime(vs *parser.VectorSelector, i int) int64 {
	t, ok := ev.atTime(vs)
	if !ok {
		t = ev.grid.at(i)
	}
	return t - vs.OriginalOffset.Milliseconds()
}

// selectorWindow returns the [mint, maxt] of samples vs can read over the
// whole query. rangeMs is 0 for an instant selector, which looks back over
// the lookback delta instead. Both windows are left-open, hence the +1.
func (ev *evaluator) selectorWindow(vs *parser.VectorSelector, rangeMs int64) (mint, maxt int64) {
	start, end := ev.qStart, ev.qEnd
	if at, ok := ev.atTime(vs); ok {
		start, end = at, at
	}
	back := ev.lookback
	if rangeMs > 0 {
		back = rangeMs
	}
	off := vs.OriginalOffset.Milliseconds()
	return start - off - back + 1, end - off
}

// selectSeries runs the storage query of a selector.
func (ev *evaluator) selectSeries(vs *parser.VectorSelector, rangeMs int64, fn string) storage.SeriesSet {
	if ev.querier == nil { // cannot happen: openQuerier saw this selector
		return storage.ErrSeriesSet{Error: fmt.Errorf("no querier for %s", vs)}
	}
	mint, maxt := ev.selectorWindow(vs, rangeMs)
	hints := &storage.SelectHints{Start: mint, End: maxt, Step: ev.hintStep, Range: rangeMs, Func: fn}
	return ev.querier.Select(ev.ctx, hints, vs.LabelMatchers...)
}

// evalVectorSelector evaluates an instant selector: at each step the value is
// the newest sample in (ref-lookback, ref], unless that sample is a stale
// marker, in which case the series has no value at that step.
func (ev *evaluator) evalVectorSelector(vs *parser.VectorSelector) (vectorResult, error) {
	set := ev.selectSeries(vs, 0, "")
	var (
		out vectorResult
		it  storage.Iterator
		cur sampleCursor
	)
	_, fixed := ev.atTime(vs)
	for set.Next() {
		if err := ev.checkCtx(); err != nil {
			return nil, err
		}
		s := set.At()
		it = s.Iterator(it)
		cur.reset(it)
		ss := newStepSeries(s.Labels(), ev.grid.n)
		if fixed {
			ev.instantFixed(&cur, &ss, ev.refTime(vs, 0))
		} else {
			ev.instantWalk(&cur, &ss, vs)
		}
		if err := it.Err(); err != nil {
			return nil, fmt.Errorf("reading series %s: %w", ss.metric, err)
		}
		if n := ss.count(); n > 0 {
			out = append(out, ss)
			if err := ev.budget.addOutput(n); err != nil {
				return nil, err
			}
		}
	}
	if err := set.Err(); err != nil {
		return nil, fmt.Errorf("expanding series: %w", err)
	}
	return out, nil
}

// instantWalk fills ss for every step, walking the series once.
func (ev *evaluator) instantWalk(cur *sampleCursor, ss *stepSeries, vs *parser.VectorSelector) {
	var (
		lastT int64
		lastV float64
		has   bool
	)
	for i := range ev.grid.n {
		ref := ev.refTime(vs, i)
		minT := ref - ev.lookback // exclusive
		// Samples at or before minT cannot be selected: skip them in bulk.
		cur.seek(minT + 1)
		for cur.peek() && cur.t <= ref {
			lastT, lastV, has = cur.t, cur.v, true
			cur.pop()
		}
		if has && lastT > minT && !value.IsStaleNaN(lastV) {
			ss.set(i, lastV)
		}
	}
}

// instantFixed fills every step with the one value at ref (@ modifier).
func (ev *evaluator) instantFixed(cur *sampleCursor, ss *stepSeries, ref int64) {
	minT := ref - ev.lookback
	var (
		lastV float64
		has   bool
	)
	cur.seek(minT + 1)
	for cur.peek() && cur.t <= ref {
		lastV, has = cur.v, true
		cur.pop()
	}
	if !has || value.IsStaleNaN(lastV) {
		return
	}
	for i := range ev.grid.n {
		ss.set(i, lastV)
	}
}

// evalMatrixSelector evaluates a range vector at the top of an instant query
// (the parser allows range vectors nowhere else outside function arguments).
// Series keep their name; points keep their own timestamps.
func (ev *evaluator) evalMatrixSelector(ms *parser.MatrixSelector) (matrixResult, error) {
	if ev.grid.n != 1 {
		return nil, fmt.Errorf("range vector %s cannot be evaluated over a range", ms)
	}
	vs := ms.VectorSelector.(*parser.VectorSelector)
	rangeMs := ms.Range.Milliseconds()
	ref := ev.refTime(vs, 0)
	set := ev.selectSeries(vs, rangeMs, "")
	var (
		out matrixResult
		it  storage.Iterator
		cur sampleCursor
		w   window
	)
	for set.Next() {
		if err := ev.checkCtx(); err != nil {
			return nil, err
		}
		s := set.At()
		it = s.Iterator(it)
		cur.reset(it)
		w.reset()
		w.advance(&cur, ref-rangeMs, ref)
		if err := it.Err(); err != nil {
			return nil, fmt.Errorf("reading series %s: %w", s.Labels(), err)
		}
		if pts := w.points(); len(pts) > 0 {
			out = append(out, Series{Metric: s.Labels(), Floats: append([]FPoint(nil), pts...)})
			if err := ev.budget.addOutput(len(pts)); err != nil {
				return nil, err
			}
		}
	}
	if err := set.Err(); err != nil {
		return nil, fmt.Errorf("expanding series: %w", err)
	}
	return out, nil
}

// sampleCursor reads a storage.Iterator with one sample of look-ahead, so a
// walk can stop in front of the first sample past a step.
type sampleCursor struct {
	it      storage.Iterator
	t       int64
	v       float64
	ok      bool  // (t, v) holds a sample not consumed yet
	done    bool  // the iterator is exhausted
	started bool  // the iterator has been positioned at least once
	lastT   int64 // timestamp of the iterator's current position
}

func (c *sampleCursor) reset(it storage.Iterator) { *c = sampleCursor{it: it} }

// peek makes the next unconsumed sample available in c.t, c.v.
func (c *sampleCursor) peek() bool {
	if c.ok || c.done {
		return c.ok
	}
	if c.it.Next() == storage.ValNone {
		c.done = true
		return false
	}
	c.load()
	return true
}

// pop consumes the sample returned by peek.
func (c *sampleCursor) pop() { c.ok = false }

// seek makes the first unconsumed sample with timestamp >= t available.
func (c *sampleCursor) seek(t int64) bool {
	switch {
	case c.ok && c.t >= t:
		return true
	case c.done:
		return false
	case !c.ok && c.started && c.lastT >= t:
		// The iterator sits on a consumed sample that already satisfies t;
		// SeekTo would not move, so step past it instead.
		return c.peek()
	}
	if c.it.SeekTo(t) == storage.ValNone {
		c.ok, c.done = false, true
		return false
	}
	c.load()
	return true
}

func (c *sampleCursor) load() {
	c.t, c.v = c.it.At()
	c.ok, c.started, c.lastT = true, true, c.t
}

// window holds the samples of one series inside a left-open range (mint,
// maxt]; it slides forward as steps advance so each sample is read once.
// Stale markers are never kept: range vectors skip them.
type window struct {
	pts  []FPoint
	head int
}

func (w *window) reset() { w.pts, w.head = w.pts[:0], 0 }

func (w *window) points() []FPoint { return w.pts[w.head:] }

// advance moves the window to (mint, maxt] and returns how many samples it
// took in and let go, for the sample budget.
func (w *window) advance(c *sampleCursor, mint, maxt int64) (added, dropped int) {
	for w.head < len(w.pts) && w.pts[w.head].T <= mint {
		w.head++
		dropped++
	}
	if w.head == len(w.pts) {
		w.reset()
		c.seek(mint + 1) // nothing buffered: jump over the gap
	} else if w.head > len(w.pts)/2 {
		n := copy(w.pts, w.pts[w.head:])
		w.pts, w.head = w.pts[:n], 0
	}
	for c.peek() && c.t <= maxt {
		t, v := c.t, c.v
		c.pop()
		if t <= mint || value.IsStaleNaN(v) {
			continue
		}
		w.pts = append(w.pts, FPoint{T: t, F: v})
		added++
	}
	return added, dropped
}
