package promql

import (
	"fmt"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/graftlabs/graft/pkg/storage"
)

// selectMode says what an instant selector reports for each sample it picks.
type selectMode int

const (
	selectValues          selectMode = iota // the sample value
	selectTimestamps                        // the sample timestamp in seconds (timestamp())
	selectStartTimestamps                   // the start timestamp in seconds (start_timestamp())
)

// refTime returns the time a selector looks at for a step at ts: the step
// (or the @ time) moved back by the offset.
func refTime(vs *parser.VectorSelector, ts int64) int64 {
	if vs.Timestamp != nil {
		ts = *vs.Timestamp
	}
	return ts - vs.OriginalOffset.Milliseconds()
}

// evalVectorSelector evaluates an instant selector: at each step the value
// is the newest sample in (ref-lookback, ref], unless that sample is a stale
// marker, in which case the series has no value at that step.
func (ev *evaluator) evalVectorSelector(vs *parser.VectorSelector, mode selectMode) (Matrix, error) {
	series, ps, err := ev.seriesFor(vs)
	if err != nil {
		return nil, err
	}
	if vs.Smoothed {
		return ev.smoothSelector(vs, series)
	}
	if mode == selectStartTimestamps && !ev.opts.useST {
		return Matrix{}, nil
	}
	out := make(Matrix, len(series))
	err = ev.parallel(len(series), func(a *pointArena) seriesWorker {
		return &selectorWorker{ev: ev, vs: vs, mode: mode, series: series, out: out, statsOnly: ps.statsOnly, arena: a}
	})
	if err != nil {
		return nil, err
	}
	m := compactEmpty(out)
	ev.budget.countRead(m.points())
	return m, ev.budget.add(m.points())
}

// selectorWorker evaluates an instant selector series by series; one per
// goroutine, reusing its walker and iterator.
type selectorWorker struct {
	ev        *evaluator
	vs        *parser.VectorSelector
	mode      selectMode
	series    []storage.Series
	out       Matrix
	statsOnly bool
	arena     *pointArena
	w         lookbackWalker
	it        storage.Iterator
}

func (sw *selectorWorker) run(i int) error {
	s := sw.series[i]
	sw.it = statsAwareIterator(s, sw.it, sw.statsOnly)
	w := &sw.w
	w.reset(sw.it, sw.mode == selectStartTimestamps)
	if !sw.statsOnly { // the stats iterator must see every sample
		w.reopenable = s
	}
	res := Series{Metric: s.Labels()}
	sw.ev.walkSteps(w, sw.vs, sw.mode, &res, sw.arena)
	res.Floats, res.Histograms = sw.arena.doneFloats(res.Floats), sw.arena.doneHists(res.Histograms)
	// The walker may have reopened the iterator.
	sw.it = w.c.it
	if err := sw.it.Err(); err != nil {
		return fmt.Errorf("reading series %s: %w", res.Metric, err)
	}
	sw.out[i] = res
	return nil
}

// walkSteps fills s with the samples w picks at every step.
func (ev *evaluator) walkSteps(w *lookbackWalker, vs *parser.VectorSelector, mode selectMode, s *Series, a *pointArena) {
	lookback := ev.plan.lookback
	if vs.Timestamp != nil {
		ref := *vs.Timestamp
		if mode != selectTimestamps {
			// Prometheus ignores the offset for timestamp(x @ t).
			ref = refTime(vs, 0)
		}
		if !w.at(ref, lookback) {
			return
		}
		for i := range ev.steps {
			ev.emit(w, mode, s, ev.ts(i), a)
		}
		return
	}
	for i := range ev.steps {
		ts := ev.ts(i)
		if w.at(refTime(vs, ts), lookback) {
			ev.emit(w, mode, s, ts, a)
		}
	}
}

func (ev *evaluator) emit(w *lookbackWalker, mode selectMode, s *Series, ts int64, a *pointArena) {
	if w.isH && mode == selectValues {
		if cap(s.Histograms) == 0 {
			s.Histograms = a.hists(ev.steps)
		}
	} else if cap(s.Floats) == 0 {
		s.Floats = a.floats(ev.steps)
	}
	switch {
	case mode == selectTimestamps:
		s.Floats = append(s.Floats, FPoint{T: ts, F: float64(w.t) / 1000})
	case mode == selectStartTimestamps:
		s.Floats = append(s.Floats, FPoint{T: ts, F: float64(w.st) / 1000})
	case w.isH:
		s.Histograms = append(s.Histograms, HPoint{T: ts, H: w.stableH()})
	default:
		s.Floats = append(s.Floats, FPoint{T: ts, F: w.f})
	}
}

func compactEmpty(m Matrix) Matrix {
	out := m[:0]
	for _, s := range m {
		if !s.empty() {
			out = append(out, s)
		}
	}
	return out
}

// lookbackWalker finds, for increasing reference times, the newest sample at
// or before each one, reading the series once.
type lookbackWalker struct {
	c cursor

	has   bool // a sample has been consumed
	t, st int64
	f     float64
	h     *histogram.FloatHistogram // scratch, overwritten by the next histogram
	isH   bool
	seq   int // bumped for every consumed sample

	emitted    *histogram.FloatHistogram // stable copy of the sample seq emittedSeq
	emittedSeq int

	// reopenable, when set, is the series the walker reads, which it may
	// read again from the start: the walker then first looks for the
	// newest sample close to the reference time and walks the whole
	// lookback only when there is none.
	reopenable storage.Series
	wantST     bool
}

func (w *lookbackWalker) reset(it storage.Iterator, wantST bool) {
	w.c.reset(it, wantST)
	w.has, w.isH, w.seq, w.emitted, w.emittedSeq = false, false, 0, nil, -1
	w.reopenable, w.wantST = nil, wantST
}

// at positions the walker on the newest sample in (ref-lookback, ref] and
// reports whether there is one that is not a stale marker.
func (w *lookbackWalker) at(ref, lookback int64) bool {
	lo := ref - lookback
	if !w.c.started || (w.c.typ != storage.ValNone && w.c.t <= lo) {
		w.position(ref, lo, lookback) // everything up to lo is out of reach
	}
	for w.c.typ != storage.ValNone && w.c.t <= ref {
		w.consume()
		w.c.next()
	}
	if !w.has || w.t <= lo {
		return false
	}
	if w.isH {
		return !value.IsStaleNaN(w.h.Sum)
	}
	return !value.IsStaleNaN(w.f)
}

// position moves the cursor to where the walk to ref starts. Iterators only
// move forward, so reading the whole lookback window is the safe way; with
// regular samples, the newest one at or before ref is usually within a
// sixteenth of the lookback, and a seek there spares reading the rest.
func (w *lookbackWalker) position(ref, lo, lookback int64) {
	w.has = false
	if w.reopenable != nil && w.seekNewest(ref) {
		return
	}
	if probe := ref - lookback/16; w.reopenable != nil && probe > lo+1 {
		w.c.seek(probe)
		if w.c.typ != storage.ValNone && w.c.t <= ref {
			return
		}
		w.c.reset(w.reopenable.Iterator(w.c.it), w.wantST) // none there: start over
	}
	w.c.seek(lo + 1)
}

// seekNewest positions a fresh cursor on the newest sample at or before
// ref where the storage has it at hand: only that sample matters to the
// step, the ones before it in the lookback need not be read.
func (w *lookbackWalker) seekNewest(ref int64) bool {
	ni, ok := w.c.it.(storage.NewestIterator)
	if !ok || w.c.started {
		return false
	}
	vt, ok := ni.SeekNewest(ref)
	if !ok {
		return false
	}
	w.c.started, w.c.typ = true, vt
	w.c.load()
	return true
}

func (w *lookbackWalker) consume() {
	it := w.c.it
	if w.c.typ == storage.ValFloat {
		w.t, w.f = w.c.t, w.c.v
		w.isH = false
	} else {
		w.t, w.h = it.AtFloatHistogram(reusable(w.h))
		w.isH = true
	}
	w.st = w.c.atST()
	w.has = true
	w.seq++
}

// stableH returns the current histogram in a copy that outlives the walk;
// consecutive steps picking the same sample share it.
func (w *lookbackWalker) stableH() *histogram.FloatHistogram {
	if w.emittedSeq != w.seq {
		w.emitted, w.emittedSeq = copyHistogram(w.h), w.seq
	}
	return w.emitted
}
