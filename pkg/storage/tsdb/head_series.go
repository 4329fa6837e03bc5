package tsdb

import (
	"math"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/storage"
	"github.com/graftlabs/graft/pkg/storage/tsdb/chunkenc"
)

// samplesPerChunk is where the head cuts a chunk, as Prometheus does: a
// query decodes at most this many samples it does not need.
const samplesPerChunk = 120

// headChunk is an immutable chunk of a query's series (or a block's
// input).
type headChunk struct {
	minT, maxT int64
	chunk      chunkenc.RawChunk
}

// sealedChunk is a sealed chunk of the head: the bytes of a headChunk
// without the room RawChunk keeps for views, which every series pays.
type sealedChunk struct {
	minT, maxT int64
	data       []byte
	enc        chunkenc.Encoding
}

func (c sealedChunk) raw() chunkenc.RawChunk { return chunkenc.RawChunk{Enc: c.enc, Data: c.data} }

func (c sealedChunk) headChunk() headChunk {
	return headChunk{minT: c.minT, maxT: c.maxT, chunk: c.raw()}
}

// memSeries is one series of the head: sealed chunks and the open one.
type memSeries struct {
	mtx  sync.Mutex
	ref  uint64
	syms symLabels // the labels, as ids of the head's symbol table

	sealed   []sealedChunk
	open     chunkenc.OpenChunk // *FloatChunk or *HistogramChunk, nil when none
	openMinT int64
	// maxT is the newest timestamp (math.MinInt64 when empty); it is read
	// without the lock by appenders, written with it.
	maxT atomic.Int64

	// logged says the series record is in the WAL (or a checkpoint).
	logged atomic.Bool
	// removed holds the series' labels once garbage collection dropped it
	// (and released its symbols): a commit still holding it re-resolves them.
	removed *labels.Labels
	// ooo holds late samples (nil unless the out-of-order window let some in).
	ooo *oooData
}

func newMemSeries(ref uint64, syms symLabels) *memSeries {
	s := &memSeries{ref: ref, syms: syms}
	s.maxT.Store(math.MinInt64)
	return s
}

// minT is the oldest in-order timestamp held, or math.MaxInt64. Callers
// hold mtx.
func (s *memSeries) minT() int64 {
	if len(s.sealed) > 0 {
		return s.sealed[0].minT
	}
	if s.open != nil {
		return s.openMinT
	}
	return math.MaxInt64
}

func (s *memSeries) empty() bool { return len(s.sealed) == 0 && s.open == nil && s.ooo == nil }

// appendable checks t against the newest sample: equal timestamps are
// accepted only with the very same value (dup: nothing to store).
func (s *memSeries) appendable(t int64, v float64, h *histogram.Histogram, fh *histogram.FloatHistogram) (dup bool, err error) {
	maxT := s.maxT.Load()
	switch {
	case t > maxT:
		return false, nil
	case t < maxT:
		return false, storage.ErrOutOfOrderSample
	}
	s.mtx.Lock()
	defer s.mtx.Unlock()
	if s.sameAsLast(v, h, fh) {
		return true, nil
	}
	return false, storage.ErrDuplicateSample
}

// sameAsLast compares a sample with the newest one. Callers hold mtx.
func (s *memSeries) sameAsLast(v float64, h *histogram.Histogram, fh *histogram.FloatHistogram) bool {
	var last chunkenc.Chunk = s.open
	if s.open == nil {
		if len(s.sealed) == 0 {
			return false
		}
		last = s.sealed[len(s.sealed)-1].raw()
	}
	it := last.Iterator(nil)
	var vt storage.ValueType
	for x := it.Next(); x != storage.ValNone; x = it.Next() {
		vt = x
	}
	switch vt {
	case storage.ValFloat:
		_, last := it.At()
		return h == nil && fh == nil && math.Float64bits(last) == math.Float64bits(v)
	case storage.ValHistogram:
		_, last := it.AtHistogram(nil)
		return h != nil && last.Equals(h)
	case storage.ValFloatHistogram:
		_, last := it.AtFloatHistogram(nil)
		return fh != nil && last.Equals(fh)
	}
	return false
}

// chunkBoundary is the end of the block range that t falls in: chunks never
// span two blocks, so the head is cut into blocks by whole chunks.
func chunkBoundary(t, blockRange int64) int64 {
	q := t / blockRange
	if t < 0 && t%blockRange != 0 {
		q--
	}
	return (q + 1) * blockRange
}

// append adds a sample in order, with its start timestamp st (0: unknown);
// it reports false for one that is not after the newest. Callers hold mtx.
func (s *memSeries) append(t, st int64, v float64, h *histogram.Histogram, fh *histogram.FloatHistogram, blockRange int64) bool {
	prevT := s.maxT.Load()
	if t <= prevT {
		return false
	}
	kind := chunkenc.EncFloat
	if h != nil {
		kind = chunkenc.EncHistogram
	} else if fh != nil {
		kind = chunkenc.EncFloatHistogram
	}
	if s.open == nil || s.open.Encoding().Base() != kind || s.open.NumSamples() >= samplesPerChunk ||
		t >= chunkBoundary(s.openMinT, blockRange) {
		s.cut(kind, t)
	}
	switch c := chunkenc.ValuesOf(s.open).(type) {
	case *chunkenc.FloatChunk:
		// maxT goes first: its atomic store waits for the stores before
		// it to complete, and the chunk's (to bytes not in cache) are the
		// slow ones. An appender reading maxT without the lock and meeting
		// t takes the lock, which this append holds, to compare with the
		// chunk's last sample.
		s.maxT.Store(t)
		c.Append(t, v)
	case *chunkenc.HistogramChunk:
		if err := c.Append(t, h, fh); err != nil {
			// The bucket layout changed: continue in a new chunk.
			s.cut(kind, t)
			if err := s.open.(*chunkenc.HistogramChunk).Append(t, h, fh); err != nil {
				return false
			}
		}
		s.maxT.Store(t)
	}
	s.appendST(t, st, prevT)
	if s.open.NumSamples() >= samplesPerChunk {
		// Full: seal it now rather than at the next sample, so that its
		// bytes are held at their exact size from now on.
		s.seal()
	}
	return true
}

// openFloat is the open chunk's float values (with or without start
// timestamps beside them), nil when it holds none. Callers hold mtx.
func (s *memSeries) openFloat() *chunkenc.FloatChunk {
	c, _ := chunkenc.ValuesOf(s.open).(*chunkenc.FloatChunk)
	return c
}

// cut seals the open chunk and opens an empty one of kind.
func (s *memSeries) cut(kind chunkenc.Encoding, t int64) {
	s.seal()
	switch kind {
	case chunkenc.EncFloat:
		s.open = chunkenc.NewFloatChunk()
	case chunkenc.EncHistogram:
		s.open = chunkenc.NewHistogramChunk(false)
	default:
		s.open = chunkenc.NewHistogramChunk(true)
	}
	s.openMinT = t
}

func (s *memSeries) seal() {
	if s.open == nil || s.open.NumSamples() == 0 {
		s.open = nil
		return
	}
	// Copy to the exact size: the open chunk's buffer has room to grow.
	data := append([]byte(nil), s.open.Bytes()...)
	s.sealed = append(s.sealed, sealedChunk{minT: s.openMinT, maxT: s.maxT.Load(), data: data, enc: s.open.Encoding()})
	s.open = nil
}

// truncate drops the chunks that end before mint; it returns how many
// samples went. Callers hold mtx.
func (s *memSeries) truncate(mint int64) int {
	dropped := 0
	i := 0
	for i < len(s.sealed) && s.sealed[i].maxT < mint {
		dropped += s.sealed[i].raw().NumSamples()
		i++
	}
	if i > 0 {
		s.sealed = append([]sealedChunk(nil), s.sealed[i:]...)
	}
	if len(s.sealed) == 0 && s.open != nil && s.maxT.Load() < mint {
		dropped += s.open.NumSamples()
		s.open = nil
	}
	return dropped
}

// snapshot returns the chunks overlapping [mint, maxt], the open one as a
// view (its samples so far, bytes shared: appends go on while a query
// reads it), in-order chunks before inOrderMin left out (blocks hold
// them), late chunks last, in a list carved from slab (series: how many
// more series will take lists from it). With labelsOnly, only the chunks'
// time ranges are set.
func (s *memSeries) snapshot(mint, maxt, inOrderMin int64, labelsOnly bool, slab *chunkSlab, series int) []headChunk {
	s.mtx.Lock()
	defer s.mtx.Unlock()
	lateMin := mint
	mint = max(mint, inOrderMin)
	openIn := s.open != nil && s.open.NumSamples() > 0 && s.maxT.Load() >= mint && s.openMinT <= maxt
	n := 0
	for _, c := range s.sealed {
		if c.maxT >= mint && c.minT <= maxt {
			n++
		}
	}
	if openIn {
		n++
	}
	into := slab.reserve(n+s.oooChunksIn(lateMin, maxt), series)
	for _, c := range s.sealed {
		if c.maxT >= mint && c.minT <= maxt {
			hc := headChunk{minT: c.minT, maxT: c.maxT}
			if !labelsOnly {
				hc.chunk = c.raw()
			}
			into = append(into, hc)
		}
	}
	if openIn {
		c := headChunk{minT: s.openMinT, maxT: s.maxT.Load()}
		if !labelsOnly {
			c.chunk = s.open.View()
		}
		into = append(into, c)
	}
	return slab.commit(s.oooSnapshot(lateMin, maxt, labelsOnly, into))
}

// hasDataIn says whether the series has samples in [mint, maxt). Callers
// hold mtx.
func (s *memSeries) hasDataIn(mint, maxt int64) bool {
	for _, c := range s.sealed {
		if c.minT < maxt && c.maxT >= mint {
			return true
		}
	}
	if s.open != nil && s.open.NumSamples() > 0 && s.openMinT < maxt && s.maxT.Load() >= mint {
		return true
	}
	if s.ooo == nil {
		return false
	}
	for _, x := range s.ooo.buf {
		if x.t >= mint && x.t < maxt {
			return true
		}
	}
	for _, c := range s.ooo.chunks {
		if c.minT < maxt && c.maxT >= mint {
			return true
		}
	}
	return false
}

// chunksIn returns the in-order chunks within [mint, maxt), the open one
// copied, then the late chunks overlapping it (see oooForBlock). Callers
// hold mtx.
func (s *memSeries) chunksIn(mint, maxt int64, seq func() uint64) []headChunk {
	var cs []headChunk
	for _, c := range s.sealed {
		if c.minT >= mint && c.maxT < maxt {
			cs = append(cs, c.headChunk())
		}
	}
	if s.open != nil && s.open.NumSamples() > 0 && s.openMinT >= mint && s.maxT.Load() < maxt {
		cs = append(cs, headChunk{minT: s.openMinT, maxT: s.maxT.Load(),
			chunk: chunkenc.RawChunk{Enc: s.open.Encoding(), Data: slices.Clone(s.open.Bytes())}})
	}
	return s.oooForBlock(mint, maxt, seq, cs)
}

// numSamples counts the samples held. Callers hold mtx.
func (s *memSeries) numSamples() int {
	n := 0
	for _, c := range s.sealed {
		n += c.raw().NumSamples()
	}
	if s.open != nil {
		n += s.open.NumSamples()
	}
	return n + s.oooNumSamples()
}
