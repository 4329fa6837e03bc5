package tsdb

import (
	"context"
	"math"
	"slices"
	"sort"
	"sync"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/storage"
	"github.com/graftlabs/graft/pkg/storage/tsdb/chunkenc"
)

// seriesChunks is a series with the chunks of one source (head or block)
// that overlap a query's range. Chunks that do not overlap are in time
// order; where they overlap (late samples, overlapping blocks), the first
// in the list wins on equal timestamps.
type seriesChunks struct {
	lset   labels.Labels
	chunks []headChunk
	// head series carry their interned labels instead, built on demand:
	// a caller that only reads samples never pays for them.
	syms symLabels
	tab  *symbolTable
}

// labels returns the series' labels, building them if needed.
func (s *seriesChunks) labels() labels.Labels {
	if s.syms != "" && s.lset.IsEmpty() {
		sb := scratchBuilders.Get().(*labels.ScratchBuilder)
		s.lset = s.tab.labels(s.syms, sb)
		scratchBuilders.Put(sb)
	}
	return s.lset
}

// chunkSeriesSet iterates over series sorted by labels. What At returns
// stays valid after Next; callers may build its labels, nothing else.
type chunkSeriesSet interface {
	Next() bool
	At() *seriesChunks
	Err() error
}

// source is what a querier reads: the head or a block.
type source interface {
	// selectSeries returns the matching series with chunks in [mint,
	// maxt], sorted by labels. With labelsOnly, chunks carry no data.
	selectSeries(ctx context.Context, mint, maxt int64, ms []*labels.Matcher, labelsOnly bool) chunkSeriesSet
	labelNames(ctx context.Context) ([]string, error)
	labelValues(ctx context.Context, name string) ([]string, error)
}

// listSet is a chunkSeriesSet over a slice.
type listSet struct {
	list []seriesChunks
	i    int
}

func (l *listSet) Next() bool        { l.i++; return l.i <= len(l.list) }
func (l *listSet) At() *seriesChunks { return &l.list[l.i-1] }
func (l *listSet) Err() error        { return nil }

type errSet struct{ err error }

func (e errSet) Next() bool        { return false }
func (e errSet) At() *seriesChunks { return nil }
func (e errSet) Err() error        { return e.err }

// headSource reads the head for one querier: in-order chunks that end
// before inOrderMin are already in blocks the querier reads.
type headSource struct {
	h          *Head
	inOrderMin int64
}

// selectSeries implements source.
func (hs headSource) selectSeries(ctx context.Context, mint, maxt int64, ms []*labels.Matcher, labelsOnly bool) chunkSeriesSet {
	h := hs.h
	series, err := h.sortedSeries(ms)
	if err != nil {
		return errSet{err}
	}
	out := make([]seriesChunks, 0, len(series))
	var slab chunkSlab // the chunk lists, instead of one allocation each
	for i, s := range series {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return errSet{err}
			}
		}
		if chunks := s.snapshot(mint, maxt, hs.inOrderMin, labelsOnly, &slab, len(series)-i); len(chunks) > 0 {
			out = append(out, seriesChunks{syms: s.syms, tab: h.symbols, chunks: chunks})
		}
	}
	return &listSet{list: out}
}

func (hs headSource) labelNames(context.Context) ([]string, error) {
	return hs.h.postings.LabelNames(), nil
}

func (hs headSource) labelValues(_ context.Context, name string) ([]string, error) {
	return hs.h.postings.LabelValues(name)
}

// querier reads the sources overlapping [mint, maxt]: raw blocks oldest
// first, then the head; or downsampled copies of the blocks where a select
// accepts a coarser resolution.
type querier struct {
	sources    []source
	mint, maxt int64
	// db, held and epoch are released by Close: nil db once closed.
	db    *DB
	held  []*Block
	epoch uint64
	// down are the downsampled blocks by the block they were made from.
	down map[string]*Block
	// head, and the sources of a querier reading the head alone (a query
	// of the newest minutes), live in the querier: one allocation of the
	// size class the querier took before.
	head   headSource
	srcBuf [1]source
}

// Select implements storage.Querier.
func (q *querier) Select(ctx context.Context, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	sources, aggr := q.sources, chunkenc.AggrAvg
	if hints != nil && hints.MaxResolution >= Resolution5m && len(q.down) > 0 {
		sources, aggr = q.downsampled(hints.MaxResolution), aggrFor(hints.Func)
	}
	set := q.selectFrom(ctx, sources, ms, false)
	return &seriesSet{set: set, mint: q.mint, maxt: q.maxt, aggr: aggr, slab: make([]series, 0, min(sizeHint(set), 256))}
}

// sizeHint is how many series a set holds at most, where it knows.
func sizeHint(set chunkSeriesSet) int {
	switch s := set.(type) {
	case *listSet:
		return len(s.list)
	case *blockSeriesSet:
		return len(s.ids)
	case *mergeSet:
		n := 0
		for _, sub := range s.sets {
			n = max(n, sizeHint(sub))
		}
		return n
	}
	return 0
}

// downsampled replaces each raw block by its coarsest downsampled copy of
// at most res, where it has one and overlaps no other raw block.
func (q *querier) downsampled(res int64) []source {
	out := make([]source, 0, len(q.sources))
	for i, s := range q.sources {
		b, ok := s.(*Block)
		if !ok || q.overlapsOther(i) {
			out = append(out, s)
			continue
		}
		var best source = b
		for cur := b; ; {
			d := q.down[cur.meta.ULID]
			if d == nil || d.meta.Resolution > res {
				break
			}
			best, cur = d, d
		}
		out = append(out, best)
	}
	return out
}

func (q *querier) overlapsOther(i int) bool {
	b := q.sources[i].(*Block)
	for j, s := range q.sources {
		if o, ok := s.(*Block); ok && j != i && o.overlaps(b.meta.MinTime, b.meta.MaxTime-1) {
			return true
		}
	}
	return false
}

// selectMerged merges the sorted series of every source, joining the
// chunks of a series found in several.
func (q *querier) selectMerged(ctx context.Context, ms []*labels.Matcher, labelsOnly bool) chunkSeriesSet {
	return q.selectFrom(ctx, q.sources, ms, labelsOnly)
}

func (q *querier) selectFrom(ctx context.Context, sources []source, ms []*labels.Matcher, labelsOnly bool) chunkSeriesSet {
	if len(sources) == 1 { // the head alone: nothing to merge
		return sources[0].selectSeries(ctx, q.mint, q.maxt, ms, labelsOnly)
	}
	sets := make([]chunkSeriesSet, 0, len(sources))
	for _, s := range sources {
		sets = append(sets, s.selectSeries(ctx, q.mint, q.maxt, ms, labelsOnly))
	}
	if len(sets) == 1 {
		return sets[0]
	}
	return newMergeSet(sets)
}

// mergeSet merges sorted chunkSeriesSets.
type mergeSet struct {
	sets []chunkSeriesSet
	ok   []bool          // sets[i] is positioned on a series
	at   []*seriesChunks // the series each set is on, labels built
	same []int           // scratch: the sets on the current series
	cur  *seriesChunks
	// joined holds series found in several sets, with their chunk lists
	// in slab.
	joined []seriesChunks
	slab   chunkSlab
	// hint is the most series a set holds, done how many were merged.
	hint, done int
	err        error
}

func newMergeSet(sets []chunkSeriesSet) *mergeSet {
	m := &mergeSet{sets: sets, ok: make([]bool, len(sets)), at: make([]*seriesChunks, len(sets)), same: make([]int, 0, len(sets))}
	for i, s := range sets {
		m.hint = max(m.hint, sizeHint(s))
		m.advance(i)
	}
	return m
}

func (m *mergeSet) advance(i int) {
	s := m.sets[i]
	if m.ok[i] = s.Next(); m.ok[i] {
		m.at[i] = s.At()
		m.at[i].labels()
	}
	if err := s.Err(); err != nil && m.err == nil {
		m.err = err
	}
}

func (m *mergeSet) Next() bool {
	if m.err != nil {
		return false
	}
	best := -1
	for i := range m.sets {
		if m.ok[i] && (best < 0 || labels.Compare(m.at[i].lset, m.at[best].lset) < 0) {
			best = i
		}
	}
	if best < 0 {
		return false
	}
	m.same = m.same[:0]
	m.done++
	n := 0
	for i := range m.sets {
		if m.ok[i] && (i == best || labels.Equal(m.at[i].lset, m.at[best].lset)) {
			m.same = append(m.same, i)
			n += len(m.at[i].chunks)
		}
	}
	m.cur = m.at[best]
	if len(m.same) > 1 {
		list := m.slab.reserve(n, m.hint-m.done+1)
		for _, i := range m.same {
			list = append(list, m.at[i].chunks...)
		}
		if len(m.joined) == cap(m.joined) {
			m.joined = make([]seriesChunks, 0, min(max(2*cap(m.joined), 16), 256))
		}
		m.joined = append(m.joined, seriesChunks{lset: m.cur.lset, chunks: m.slab.commit(list)})
		m.cur = &m.joined[len(m.joined)-1]
	}
	for _, i := range m.same {
		if m.advance(i); m.err != nil {
			return false
		}
	}
	return true
}

func (m *mergeSet) At() *seriesChunks { return m.cur }
func (m *mergeSet) Err() error        { return m.err }

// LabelNames implements storage.Querier.
func (q *querier) LabelNames(ctx context.Context, ms ...*labels.Matcher) ([]string, error) {
	if len(ms) == 0 {
		return q.union(ctx, func(s source) ([]string, error) { return s.labelNames(ctx) })
	}
	set := q.selectMerged(ctx, ms, true)
	seen := map[string]struct{}{}
	for set.Next() {
		sc := set.At()
		sc.labels().Range(func(l labels.Label) { seen[l.Name] = struct{}{} })
	}
	return sortedKeys(seen), set.Err()
}

// LabelValues implements storage.Querier.
func (q *querier) LabelValues(ctx context.Context, name string, ms ...*labels.Matcher) ([]string, error) {
	if len(ms) == 0 {
		return q.union(ctx, func(s source) ([]string, error) { return s.labelValues(ctx, name) })
	}
	set := q.selectMerged(ctx, ms, true)
	seen := map[string]struct{}{}
	for set.Next() {
		sc := set.At()
		if v := sc.labels().Get(name); v != "" {
			seen[v] = struct{}{}
		}
	}
	return sortedKeys(seen), set.Err()
}

func (q *querier) union(ctx context.Context, f func(source) ([]string, error)) ([]string, error) {
	seen := map[string]struct{}{}
	for _, s := range q.sources {
		vals, err := f(s)
		if err != nil {
			return nil, err
		}
		for _, v := range vals {
			seen[v] = struct{}{}
		}
	}
	return sortedKeys(seen), ctx.Err()
}

func sortedKeys(m map[string]struct{}) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// ConcurrentReads implements storage.ConcurrentQuerier: the series of a
// select share nothing mutable (chunks are immutable, sealed or mapped, or
// views of open chunks that appends do not change) and each builds its
// labels once, so they may be read from several goroutines at once.
func (q *querier) ConcurrentReads() bool { return true }

// Close implements storage.Querier.
func (q *querier) Close() error {
	if q.db == nil {
		return nil
	}
	q.db.head.readers.exit(q.epoch)
	for _, b := range q.held {
		b.release()
	}
	q.db = nil
	return nil
}

type seriesSet struct {
	set        chunkSeriesSet
	mint, maxt int64
	aggr       chunkenc.Aggr // read from aggregate chunks
	slab       []series      // the series handed out, allocated a few at a time
	cur        *series       // what At returned since the last Next
}

func (s *seriesSet) Next() bool { s.cur = nil; return s.set.Next() }

func (s *seriesSet) At() storage.Series {
	if s.cur != nil {
		return s.cur // one wrapper per series: it builds the labels once
	}
	if len(s.slab) == cap(s.slab) {
		s.slab = make([]series, 0, min(max(2*cap(s.slab), 4), 256))
	}
	s.slab = append(s.slab, series{sc: s.set.At(), set: s})
	s.cur = &s.slab[len(s.slab)-1]
	return s.cur
}

func (s *seriesSet) Err() error { return s.set.Err() }

type series struct {
	sc  *seriesChunks
	set *seriesSet
	// once builds head series' labels on first use: the querier's series
	// may be read from several goroutines (ConcurrentReads).
	once sync.Once
}

func (s *series) Labels() labels.Labels {
	s.once.Do(func() { s.sc.labels() })
	return s.sc.lset
}

func (s *series) Iterator(it storage.Iterator) storage.Iterator {
	ci, ok := it.(*chunksIterator)
	if !ok {
		ci = &chunksIterator{}
	}
	ci.reset(s.sc.chunks, s.set.mint, s.set.maxt, s.set.aggr)
	return ci
}

// chunksIterator walks the samples of a series' chunks within [mint, maxt].
// Chunks that overlap (late samples, overlapping blocks) are merged sample
// by sample, the first source winning on equal timestamps.
type chunksIterator struct {
	chunks     []headChunk
	mint, maxt int64
	i          int // index of the current chunk
	cur        storage.Iterator
	reuse      storage.Iterator
	merged     *mergedIterator // set instead of chunks when they overlap
	aggr       chunkenc.Aggr
	vt         storage.ValueType
	err        error
	// inside says the current chunk lies within [mint, maxt]; fast is the
	// current float chunk's iterator then, read without per-sample checks.
	inside bool
	fast   *chunkenc.FloatIterator
	// newest is SeekNewest's iterator, kept apart from reuse (a chunk
	// decoder) and in place: no allocation per series.
	newest chunkenc.SampleIterator
}

func (it *chunksIterator) reset(chunks []headChunk, mint, maxt int64, aggr chunkenc.Aggr) {
	*it = chunksIterator{chunks: chunks, mint: mint, maxt: maxt, i: -1, reuse: it.reuse, aggr: aggr}
	if overlapping(chunks) {
		it.merged = newMergedIterator(chunks, aggr)
		it.chunks = nil
	}
}

// chunkIterator reads a chunk, the aggregate aggr of aggregate chunks.
func chunkIterator(c chunkenc.RawChunk, aggr chunkenc.Aggr, reuse storage.Iterator) storage.Iterator {
	if c.Enc == chunkenc.EncAggr {
		return chunkenc.NewAggrIterator(c.Data, aggr, reuse)
	}
	return c.Iterator(reuse)
}

func overlapping(chunks []headChunk) bool {
	for i := 1; i < len(chunks); i++ {
		if chunks[i].minT <= chunks[i-1].maxT {
			return true
		}
	}
	return false
}

// openNext makes the next chunk (from index it.i+1) current.
func (it *chunksIterator) openNext() bool {
	if it.merged != nil {
		if it.i >= 0 {
			return false
		}
		it.i, it.cur = 0, it.merged
		return true
	}
	for it.i+1 < len(it.chunks) {
		it.i++
		c := it.chunks[it.i]
		if c.maxT < it.mint {
			continue
		}
		if c.minT > it.maxt {
			break
		}
		it.reuse = chunkIterator(c.chunk, it.aggr, it.reuse)
		it.cur = it.reuse
		it.inside = c.minT >= it.mint && c.maxT <= it.maxt
		return true
	}
	it.i = len(it.chunks)
	return false
}

// settle checks the sample an inner iterator stopped at.
func (it *chunksIterator) settle(vt storage.ValueType) (storage.ValueType, bool) {
	it.fast = nil
	if vt == storage.ValNone {
		it.err = it.cur.Err()
		it.cur = nil
		return vt, false
	}
	if it.cur.AtT() > it.maxt {
		it.end()
		return storage.ValNone, true
	}
	it.vt = vt
	if fi, ok := it.cur.(*chunkenc.FloatIterator); ok && it.inside && vt == storage.ValFloat {
		it.fast = fi
	}
	return vt, true
}

func (it *chunksIterator) end() {
	it.cur, it.vt, it.fast = nil, storage.ValNone, nil
	it.chunks, it.merged = nil, nil
	it.i = 1
}

func (it *chunksIterator) Next() storage.ValueType {
	if it.fast != nil {
		if it.fast.Next() == storage.ValFloat {
			return storage.ValFloat
		}
		it.err, it.fast, it.cur = it.fast.Err(), nil, nil
	}
	for it.err == nil {
		var vt storage.ValueType
		if it.cur == nil {
			if !it.openNext() {
				it.end()
				return storage.ValNone
			}
			vt = it.cur.SeekTo(it.mint)
		} else {
			vt = it.cur.Next()
		}
		if vt, done := it.settle(vt); done {
			return vt
		}
	}
	it.vt = storage.ValNone
	return storage.ValNone
}

func (it *chunksIterator) SeekTo(t int64) storage.ValueType {
	if it.vt != storage.ValNone && it.cur != nil && it.cur.AtT() >= t {
		return it.vt
	}
	t = max(t, it.mint)
	for it.err == nil {
		if it.cur == nil {
			for it.merged == nil && it.i+1 < len(it.chunks) && it.chunks[it.i+1].maxT < t {
				it.i++
			}
			if !it.openNext() {
				it.end()
				return storage.ValNone
			}
		}
		if vt, done := it.settle(it.cur.SeekTo(t)); done {
			return vt
		}
	}
	it.vt = storage.ValNone
	return storage.ValNone
}

// SeekNewest implements storage.NewestIterator: the newest sample at or
// before t is read without decoding when it is the last of a chunk that
// knows it (the head's open chunk, through its view).
func (it *chunksIterator) SeekNewest(t int64) (storage.ValueType, bool) {
	if it.merged != nil || it.i != -1 || t > it.maxt {
		return storage.ValNone, false
	}
	j := sort.Search(len(it.chunks), func(k int) bool { return it.chunks[k].minT > t }) - 1
	if j < 0 || it.chunks[j].maxT > t || it.chunks[j].maxT < it.mint {
		return storage.ValNone, false
	}
	c := it.chunks[j]
	cur, ok := c.chunk.IteratorAtLast(c.maxT, &it.newest)
	if !ok {
		return storage.ValNone, false
	}
	it.i, it.cur, it.vt = j, cur, storage.ValFloat
	return storage.ValFloat, true
}

// Floats implements storage.FloatBatchIterator, inside the range only.
func (it *chunksIterator) Floats() ([]int64, []float64) {
	if it.fast == nil {
		return nil, nil
	}
	return it.fast.Floats()
}

func (it *chunksIterator) At() (int64, float64) {
	if it.fast != nil {
		return it.fast.At()
	}
	return it.cur.At()
}
func (it *chunksIterator) AtHistogram(h *histogram.Histogram) (int64, *histogram.Histogram) {
	return it.cur.AtHistogram(h)
}
func (it *chunksIterator) AtFloatHistogram(fh *histogram.FloatHistogram) (int64, *histogram.FloatHistogram) {
	return it.cur.AtFloatHistogram(fh)
}
func (it *chunksIterator) AtT() int64 {
	if it.cur == nil {
		return math.MinInt64
	}
	return it.cur.AtT()
}
func (it *chunksIterator) Err() error { return it.err }

// mergedIterator decodes overlapping chunks into one sorted run of samples.
type mergedIterator struct {
	samples []pendingSample
	i       int
	err     error
}

func newMergedIterator(chunks []headChunk, aggr chunkenc.Aggr) *mergedIterator {
	m := &mergedIterator{i: -1}
	var it storage.Iterator
	for _, c := range chunks {
		it = chunkIterator(c.chunk, aggr, it)
		st := stOf(it)
		for vt := it.Next(); vt != storage.ValNone; vt = it.Next() {
			p := pendingSample{st: atST(st)}
			switch vt {
			case storage.ValFloat:
				p.t, p.v = it.At()
			case storage.ValHistogram:
				p.t, p.h = it.AtHistogram(nil)
			case storage.ValFloatHistogram:
				p.t, p.fh = it.AtFloatHistogram(nil)
			}
			m.samples = append(m.samples, p)
		}
		if err := it.Err(); err != nil {
			m.err = err
			return m
		}
	}
	sort.SliceStable(m.samples, func(i, j int) bool { return m.samples[i].t < m.samples[j].t })
	m.samples = slices.CompactFunc(m.samples, func(a, b pendingSample) bool { return a.t == b.t })
	return m
}

func (m *mergedIterator) vt() storage.ValueType {
	switch s := m.samples[m.i]; {
	case s.h != nil:
		return storage.ValHistogram
	case s.fh != nil:
		return storage.ValFloatHistogram
	}
	return storage.ValFloat
}

func (m *mergedIterator) Next() storage.ValueType {
	if m.err != nil || m.i+1 >= len(m.samples) {
		m.i = len(m.samples)
		return storage.ValNone
	}
	m.i++
	return m.vt()
}

func (m *mergedIterator) SeekTo(t int64) storage.ValueType {
	if m.i < 0 {
		m.i = 0
	}
	for m.i < len(m.samples) && m.samples[m.i].t < t {
		m.i++
	}
	if m.i >= len(m.samples) {
		return storage.ValNone
	}
	return m.vt()
}

func (m *mergedIterator) At() (int64, float64) { s := m.samples[m.i]; return s.t, s.v }
func (m *mergedIterator) AtHistogram(h *histogram.Histogram) (int64, *histogram.Histogram) {
	s := m.samples[m.i]
	if h == nil {
		return s.t, s.h.Copy()
	}
	s.h.CopyTo(h)
	return s.t, h
}
func (m *mergedIterator) AtFloatHistogram(fh *histogram.FloatHistogram) (int64, *histogram.FloatHistogram) {
	s := m.samples[m.i]
	if s.h != nil {
		return s.t, s.h.ToFloat(fh)
	}
	if fh == nil {
		return s.t, s.fh.Copy()
	}
	s.fh.CopyTo(fh)
	return s.t, fh
}
func (m *mergedIterator) AtT() int64 {
	if m.i < 0 || m.i >= len(m.samples) {
		return math.MinInt64
	}
	return m.samples[m.i].t
}
func (m *mergedIterator) Err() error { return m.err }
