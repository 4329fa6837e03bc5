package tsdb

import (
	"context"
	"math"
	"slices"
	"sort"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/storage"
	"github.com/graftlabs/graft/pkg/storage/tsdb/index"
)

// seriesChunks is a series with the chunks of one source (head or block)
// that overlap a query's range, oldest first.
type seriesChunks struct {
	lset   labels.Labels
	chunks []headChunk
}

// source is what a querier reads: the head or a block.
type source interface {
	// selectSeries returns the matching series with chunks in [mint, maxt],
	// sorted by labels.
	selectSeries(ctx context.Context, mint, maxt int64, ms []*labels.Matcher) ([]seriesChunks, error)
	labelNames(ctx context.Context) ([]string, error)
	labelValues(ctx context.Context, name string) ([]string, error)
}

// selectSeries implements source for the head.
func (h *Head) selectSeries(ctx context.Context, mint, maxt int64, ms []*labels.Matcher) ([]seriesChunks, error) {
	refs, err := index.Select(h.postings, ms...)
	if err != nil {
		return nil, err
	}
	out := make([]seriesChunks, 0, len(refs))
	for i, ref := range refs {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		s := h.series.getByRef(ref)
		if s == nil {
			continue
		}
		if chunks := s.snapshot(mint, maxt, nil); len(chunks) > 0 {
			out = append(out, seriesChunks{lset: s.lset, chunks: chunks})
		}
	}
	sort.Slice(out, func(i, j int) bool { return labels.Compare(out[i].lset, out[j].lset) < 0 })
	return out, nil
}

func (h *Head) labelNames(context.Context) ([]string, error) { return h.postings.LabelNames(), nil }

func (h *Head) labelValues(_ context.Context, name string) ([]string, error) {
	return h.postings.LabelValues(name)
}

// querier reads the sources overlapping [mint, maxt].
type querier struct {
	sources    []source
	mint, maxt int64
	release    func()
}

// Select implements storage.Querier.
func (q *querier) Select(ctx context.Context, _ *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	merged, err := q.selectMerged(ctx, ms)
	if err != nil {
		return storage.ErrSeriesSet{Error: err}
	}
	return &seriesSet{list: merged, i: -1, mint: q.mint, maxt: q.maxt}
}

// selectMerged merges the sorted series lists of every source, joining the
// chunks of a series found in several.
func (q *querier) selectMerged(ctx context.Context, ms []*labels.Matcher) ([]seriesChunks, error) {
	var lists [][]seriesChunks
	for _, s := range q.sources {
		l, err := s.selectSeries(ctx, q.mint, q.maxt, ms)
		if err != nil {
			return nil, err
		}
		if len(l) > 0 {
			lists = append(lists, l)
		}
	}
	switch len(lists) {
	case 0:
		return nil, nil
	case 1:
		return lists[0], nil
	}
	var out []seriesChunks
	pos := make([]int, len(lists))
	for {
		best := -1
		for i, l := range lists {
			if pos[i] < len(l) && (best < 0 || labels.Compare(l[pos[i]].lset, lists[best][pos[best]].lset) < 0) {
				best = i
			}
		}
		if best < 0 {
			return out, nil
		}
		cur := lists[best][pos[best]]
		pos[best]++
		for i, l := range lists {
			if i != best && pos[i] < len(l) && labels.Equal(l[pos[i]].lset, cur.lset) {
				cur.chunks = append(slices.Clip(cur.chunks), l[pos[i]].chunks...)
				pos[i]++
			}
		}
		sort.SliceStable(cur.chunks, func(i, j int) bool { return cur.chunks[i].minT < cur.chunks[j].minT })
		out = append(out, cur)
	}
}

// LabelNames implements storage.Querier.
func (q *querier) LabelNames(ctx context.Context, ms ...*labels.Matcher) ([]string, error) {
	if len(ms) == 0 {
		return q.union(ctx, func(s source) ([]string, error) { return s.labelNames(ctx) })
	}
	series, err := q.selectMerged(ctx, ms)
	if err != nil {
		return nil, err
	}
	seen := map[string]struct{}{}
	for _, s := range series {
		s.lset.Range(func(l labels.Label) { seen[l.Name] = struct{}{} })
	}
	return sortedKeys(seen), nil
}

// LabelValues implements storage.Querier.
func (q *querier) LabelValues(ctx context.Context, name string, ms ...*labels.Matcher) ([]string, error) {
	if len(ms) == 0 {
		return q.union(ctx, func(s source) ([]string, error) { return s.labelValues(ctx, name) })
	}
	series, err := q.selectMerged(ctx, ms)
	if err != nil {
		return nil, err
	}
	seen := map[string]struct{}{}
	for _, s := range series {
		if v := s.lset.Get(name); v != "" {
			seen[v] = struct{}{}
		}
	}
	return sortedKeys(seen), nil
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

// Close implements storage.Querier.
func (q *querier) Close() error {
	if q.release != nil {
		q.release()
		q.release = nil
	}
	return nil
}

type seriesSet struct {
	list       []seriesChunks
	i          int
	mint, maxt int64
}

func (s *seriesSet) Next() bool { s.i++; return s.i < len(s.list) }
func (s *seriesSet) At() storage.Series {
	return &series{seriesChunks: s.list[s.i], mint: s.mint, maxt: s.maxt}
}
func (s *seriesSet) Err() error { return nil }

type series struct {
	seriesChunks
	mint, maxt int64
}

func (s *series) Labels() labels.Labels { return s.lset }

func (s *series) Iterator(it storage.Iterator) storage.Iterator {
	ci, ok := it.(*chunksIterator)
	if !ok {
		ci = &chunksIterator{}
	}
	ci.reset(s.chunks, s.mint, s.maxt)
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
	vt         storage.ValueType
	err        error
}

func (it *chunksIterator) reset(chunks []headChunk, mint, maxt int64) {
	*it = chunksIterator{chunks: chunks, mint: mint, maxt: maxt, i: -1, reuse: it.reuse}
	if overlapping(chunks) {
		it.merged = newMergedIterator(chunks)
		it.chunks = nil
	}
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
		it.reuse = c.chunk.Iterator(it.reuse)
		it.cur = it.reuse
		return true
	}
	it.i = len(it.chunks)
	return false
}

// settle checks the sample an inner iterator stopped at.
func (it *chunksIterator) settle(vt storage.ValueType) (storage.ValueType, bool) {
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
	return vt, true
}

func (it *chunksIterator) end() {
	it.cur, it.vt = nil, storage.ValNone
	it.chunks, it.merged = nil, nil
	it.i = 1
}

func (it *chunksIterator) Next() storage.ValueType {
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

func (it *chunksIterator) At() (int64, float64) { return it.cur.At() }
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

func newMergedIterator(chunks []headChunk) *mergedIterator {
	m := &mergedIterator{i: -1}
	var it storage.Iterator
	for _, c := range chunks {
		it = c.chunk.Iterator(it)
		for vt := it.Next(); vt != storage.ValNone; vt = it.Next() {
			p := pendingSample{}
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
