package promql

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/graftlabs/graft/pkg/storage"
)

// seriesCache runs each planned selection once and hands its series to every
// selector that shares it. Entries are indexed by selection id.
type seriesCache struct {
	querier storage.Querier
	entries []cacheEntry
}

type cacheEntry struct {
	once   sync.Once
	series []storage.Series
	err    error
	hints  storage.SelectHints // the Select's own copy: storages may keep it
}

func (c *seriesCache) get(ctx context.Context, sel *selection) ([]storage.Series, error) {
	e := &c.entries[sel.id]
	e.once.Do(func() {
		e.hints = sel.hints
		e.series, e.err = expandSeriesSet(ctx, c.querier.Select(ctx, &e.hints, sel.matchers...))
	})
	return e.series, e.err
}

func expandSeriesSet(ctx context.Context, set storage.SeriesSet) ([]storage.Series, error) {
	var out []storage.Series
	for set.Next() {
		// Every 1024 series; the evaluator checked before the Select.
		if len(out)%1024 == 1023 {
			if err := ctx.Err(); err != nil {
				return nil, contextError(err, "expression evaluation")
			}
		}
		if out == nil {
			// Skip the smallest growth steps: one allocation for up to
			// 8 series instead of four.
			out = make([]storage.Series, 0, 8)
		}
		out = append(out, set.At())
	}
	if err := set.Err(); err != nil {
		return nil, fmt.Errorf("expanding series: %w", err)
	}
	return out, nil
}

// seriesFor returns the storage series a selector reads, and its plan.
func (ev *evaluator) seriesFor(vs *parser.VectorSelector) ([]storage.Series, *plannedSelector, error) {
	ps := ev.plan.selector(vs)
	if ps == nil {
		return nil, nil, fmt.Errorf("selector %s was not planned", vs)
	}
	series, err := ev.series.get(ev.ctx, ps.sel)
	return series, ps, err
}

// cursor reads a storage.Iterator front to back with one sample of
// look-ahead: typ and t describe the sample the iterator is on, which has
// not been consumed yet.
type cursor struct {
	it      storage.Iterator
	st      storage.StartTimestampIterator // nil: no start timestamps
	typ     storage.ValueType
	t       int64
	v       float64 // the value, for a float sample
	started bool
	// feed makes windows read (and drop) the samples they skip, so that a
	// statsIterator sees every histogram, as Prometheus's buffered reads
	// show them.
	feed    bool
	scratch *histogram.FloatHistogram
	// fb hands out decoded floats a batch at a time (nil: the iterator
	// cannot, or start timestamps are read along). bts and bvs are the
	// batch, bi the current sample in it; the iterator is on its last.
	fb  storage.FloatBatchIterator
	bts []int64
	bvs []float64
	bi  int
}

func (c *cursor) reset(it storage.Iterator, wantST bool) {
	*c = cursor{it: it, scratch: c.scratch}
	if wantST {
		c.st, _ = it.(storage.StartTimestampIterator)
	}
	if c.st == nil {
		c.fb, _ = it.(storage.FloatBatchIterator)
	}
}

// seek positions the cursor on the first sample with timestamp >= t; it
// never moves backwards.
func (c *cursor) seek(t int64) {
	if c.started && (c.typ == storage.ValNone || c.t >= t) {
		return
	}
	if n := len(c.bts); n > 0 && c.bts[n-1] >= t {
		for c.bts[c.bi] < t {
			c.bi++
		}
		c.t, c.v = c.bts[c.bi], c.bvs[c.bi]
		return
	}
	c.started = true
	c.typ = c.it.SeekTo(t)
	c.load()
}

// next consumes the current sample.
func (c *cursor) next() {
	if c.bi+1 < len(c.bts) {
		c.bi++
		c.t, c.v = c.bts[c.bi], c.bvs[c.bi]
		return
	}
	if !c.started {
		c.started = true
	} else if c.typ == storage.ValNone {
		return
	}
	c.typ = c.it.Next()
	c.load()
}

// load reads the current sample's timestamp (and value, for a float: one
// call instead of two).
func (c *cursor) load() {
	c.bts, c.bvs, c.bi = nil, nil, 0
	switch c.typ {
	case storage.ValNone:
	case storage.ValFloat:
		if c.fb != nil {
			if c.bts, c.bvs = c.fb.Floats(); len(c.bts) > 0 {
				c.t, c.v = c.bts[0], c.bvs[0]
				return
			}
		}
		c.t, c.v = c.it.At()
	default:
		c.t = c.it.AtT()
	}
}

// atST returns the current sample's start timestamp, or 0.
func (c *cursor) atST() int64 {
	if c.st == nil {
		return 0
	}
	return c.st.AtST()
}

// memSeries adapts an evaluated Series (a subquery result) to storage.Series
// so that range functions read it like stored data.
type memSeries struct{ s *Series }

func (m memSeries) Labels() labels.Labels { return m.s.Metric }

func (m memSeries) Iterator(it storage.Iterator) storage.Iterator {
	if si, ok := it.(*seriesIterator); ok {
		*si = seriesIterator{s: m.s}
		return si
	}
	return &seriesIterator{s: m.s}
}

// seriesIterator walks the floats and histograms of a Series in time order.
type seriesIterator struct {
	s       *Series
	fi, hi  int  // next float / histogram, or the current one once started
	onFloat bool // the current sample is Floats[fi] (else Histograms[hi])
	started bool
}

func (it *seriesIterator) Next() storage.ValueType {
	if it.started {
		if it.onFloat {
			it.fi++
		} else {
			it.hi++
		}
	}
	it.started = true
	return it.pick()
}

func (it *seriesIterator) SeekTo(t int64) storage.ValueType {
	if it.started && it.valid() && it.AtT() >= t {
		return it.current()
	}
	it.started = true
	fs, hs := it.s.Floats[it.fi:], it.s.Histograms[it.hi:]
	it.fi += sort.Search(len(fs), func(i int) bool { return fs[i].T >= t })
	it.hi += sort.Search(len(hs), func(i int) bool { return hs[i].T >= t })
	return it.pick()
}

// pick selects the earlier of the next float and the next histogram.
func (it *seriesIterator) pick() storage.ValueType {
	hasF, hasH := it.fi < len(it.s.Floats), it.hi < len(it.s.Histograms)
	switch {
	case hasF && (!hasH || it.s.Floats[it.fi].T <= it.s.Histograms[it.hi].T):
		it.onFloat = true
	case hasH:
		it.onFloat = false
	default:
		return storage.ValNone
	}
	return it.current()
}

func (it *seriesIterator) valid() bool {
	if it.onFloat {
		return it.fi < len(it.s.Floats)
	}
	return it.hi < len(it.s.Histograms)
}

func (it *seriesIterator) current() storage.ValueType {
	if !it.valid() {
		return storage.ValNone
	}
	if it.onFloat {
		return storage.ValFloat
	}
	return storage.ValFloatHistogram
}

func (it *seriesIterator) At() (int64, float64) {
	p := it.s.Floats[it.fi]
	return p.T, p.F
}

func (it *seriesIterator) AtHistogram(*histogram.Histogram) (int64, *histogram.Histogram) {
	panic("seriesIterator holds float histograms only")
}

// AtFloatHistogram returns a copy: callers may recycle what they get.
func (it *seriesIterator) AtFloatHistogram(fh *histogram.FloatHistogram) (int64, *histogram.FloatHistogram) {
	p := it.s.Histograms[it.hi]
	if fh == nil {
		return p.T, p.H.Copy()
	}
	p.H.CopyTo(fh)
	return p.T, fh
}

func (it *seriesIterator) AtT() int64 {
	if it.onFloat {
		return it.s.Floats[it.fi].T
	}
	return it.s.Histograms[it.hi].T
}

func (it *seriesIterator) Err() error { return nil }
