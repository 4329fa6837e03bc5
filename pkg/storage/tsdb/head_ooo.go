package tsdb

import (
	"math"
	"slices"
	"sort"

	"github.com/graftlabs/graft/pkg/storage"
	"github.com/graftlabs/graft/pkg/storage/tsdb/chunkenc"
)

// Out-of-order samples: with an out-of-order window, a float sample older
// than its series' newest (or than the blocks already cut) is accepted if it
// is within the window of the head's newest sample. Late samples wait in a
// small sorted buffer per series, then in coded chunks that may overlap the
// series' in-order chunks and one another; queries merge them (a stored
// sample wins over a late one at the same timestamp), and compaction writes
// them into blocks that compaction later merges with the overlapping ones.

// oooBufSamples is how many late samples a series buffers before coding
// them as a chunk.
const oooBufSamples = 32

type oooSample struct {
	t int64
	v float64
}

// oooChunk is a coded run of late samples. seq orders chunks by creation,
// so that truncation after a block write drops only what the block holds.
type oooChunk struct {
	headChunk
	seq uint64
}

// oooData holds a series' late samples.
type oooData struct {
	buf    []oooSample // sorted, unique timestamps
	chunks []oooChunk
	// snapSeq is the newest chunk a block being written read.
	snapSeq uint64
}

// oooAllowed says whether a late sample at t is accepted.
func (h *Head) oooAllowed(t int64) bool {
	return h.oooWindow > 0 && t >= h.MaxTime()-h.oooWindow
}

// oooDuplicate checks a late sample against the late ones held: an exact
// repeat is ignored (dup), another value at the same time is refused.
func (s *memSeries) oooDuplicate(t int64, v float64) (dup bool, err error) {
	s.mtx.Lock()
	defer s.mtx.Unlock()
	if s.ooo == nil {
		return false, nil
	}
	old, found := s.ooo.lookup(t)
	switch {
	case !found:
		return false, nil
	case math.Float64bits(old) == math.Float64bits(v):
		return true, nil
	}
	return false, storage.ErrDuplicateSample
}

// lookup finds the late sample at t.
func (o *oooData) lookup(t int64) (float64, bool) {
	if i, ok := slices.BinarySearchFunc(o.buf, t, func(x oooSample, t int64) int { return cmpInt(x.t, t) }); ok {
		return o.buf[i].v, true
	}
	var it storage.Iterator
	for _, c := range o.chunks {
		if t < c.minT || t > c.maxT {
			continue
		}
		it = c.chunk.Iterator(it)
		if it.SeekTo(t) == storage.ValFloat {
			if ts, v := it.At(); ts == t {
				return v, true
			}
		}
	}
	return 0, false
}

// insertOOO adds a late sample; one already buffered at t wins. It reports
// whether the sample was added. Callers hold mtx (or own the series).
func (s *memSeries) insertOOO(t int64, v float64, seq func() uint64) bool {
	if s.ooo == nil {
		s.ooo = &oooData{}
	}
	o := s.ooo
	if _, found := o.lookup(t); found {
		return false
	}
	i, _ := slices.BinarySearchFunc(o.buf, t, func(x oooSample, t int64) int { return cmpInt(x.t, t) })
	o.buf = slices.Insert(o.buf, i, oooSample{t, v})
	if len(o.buf) >= oooBufSamples {
		o.seal(seq)
	}
	return true
}

// seal codes the buffer as a chunk.
func (o *oooData) seal(seq func() uint64) {
	if len(o.buf) == 0 {
		return
	}
	ts, vs := make([]int64, len(o.buf)), make([]float64, len(o.buf))
	for i, x := range o.buf {
		ts[i], vs[i] = x.t, x.v
	}
	data, err := chunkenc.EncodeFloats(ts, vs)
	if err != nil {
		return // cannot happen: timestamps are unique and sorted, at most 32
	}
	o.chunks = append(o.chunks, oooChunk{
		headChunk: headChunk{minT: ts[0], maxT: ts[len(ts)-1], chunk: chunkenc.RawChunk{Enc: chunkenc.EncFloat, Data: data}},
		seq:       seq(),
	})
	o.buf = o.buf[:0]
}

// oooSnapshot appends the late samples overlapping [mint, maxt] as chunks
// (the buffer coded on the fly). Callers hold mtx.
func (s *memSeries) oooSnapshot(mint, maxt int64, labelsOnly bool, into []headChunk) []headChunk {
	if s.ooo == nil {
		return into
	}
	for _, c := range s.ooo.chunks {
		if c.maxT >= mint && c.minT <= maxt {
			hc := c.headChunk
			if labelsOnly {
				hc.chunk = chunkenc.RawChunk{}
			}
			into = append(into, hc)
		}
	}
	if b := s.ooo.buf; len(b) > 0 && b[len(b)-1].t >= mint && b[0].t <= maxt {
		c := headChunk{minT: b[0].t, maxT: b[len(b)-1].t}
		if !labelsOnly {
			ts, vs := make([]int64, len(b)), make([]float64, len(b))
			for i, x := range b {
				ts[i], vs[i] = x.t, x.v
			}
			data, _ := chunkenc.EncodeFloats(ts, vs)
			c.chunk = chunkenc.RawChunk{Enc: chunkenc.EncFloat, Data: data}
		}
		into = append(into, c)
	}
	return into
}

// oooForBlock seals the buffer and returns the late chunks overlapping
// [mint, maxt), remembering the newest, so that truncation after the block
// is written drops exactly these. Callers hold mtx.
func (s *memSeries) oooForBlock(mint, maxt int64, seq func() uint64, into []headChunk) []headChunk {
	if s.ooo == nil {
		return into
	}
	s.ooo.seal(seq)
	for _, c := range s.ooo.chunks {
		s.ooo.snapSeq = max(s.ooo.snapSeq, c.seq)
		switch {
		case c.maxT < mint || c.minT >= maxt:
		case c.minT >= mint && c.maxT < maxt:
			into = append(into, c.headChunk)
		default: // only the samples inside the block's range
			if in := keepSamples(c.headChunk, mint, maxt); in != nil {
				into = append(into, *in)
			}
		}
	}
	return into
}

// keepSamples codes the samples of c within [mint, maxt) as a chunk; nil
// if there are none.
func keepSamples(c headChunk, mint, maxt int64) *headChunk {
	var ts []int64
	var vs []float64
	it := c.chunk.Iterator(nil)
	for it.Next() == storage.ValFloat {
		if t, v := it.At(); t >= mint && t < maxt {
			ts, vs = append(ts, t), append(vs, v)
		}
	}
	if len(ts) == 0 {
		return nil
	}
	data, err := chunkenc.EncodeFloats(ts, vs)
	if err != nil {
		return nil
	}
	return &headChunk{minT: ts[0], maxT: ts[len(ts)-1], chunk: chunkenc.RawChunk{Enc: chunkenc.EncFloat, Data: data}}
}

// dropOOO removes late samples in [mint, maxt): with snapshotOnly, only
// from the chunks a block write read. It returns how many went.
// Callers hold mtx.
func (s *memSeries) dropOOO(mint, maxt int64, snapshotOnly bool) int {
	o := s.ooo
	if o == nil {
		return 0
	}
	dropped := 0
	if !snapshotOnly {
		n := len(o.buf)
		o.buf = slices.DeleteFunc(o.buf, func(x oooSample) bool { return x.t >= mint && x.t < maxt })
		dropped += n - len(o.buf)
	}
	kept := o.chunks[:0]
	for _, c := range o.chunks {
		if (snapshotOnly && c.seq > o.snapSeq) || c.maxT < mint || c.minT >= maxt {
			kept = append(kept, c)
			continue
		}
		rest, n := dropSamples(c, mint, maxt)
		dropped += n
		if rest != nil {
			kept = append(kept, *rest)
		}
	}
	clear(o.chunks[len(kept):])
	o.chunks = kept
	if len(o.buf) == 0 && len(o.chunks) == 0 {
		s.ooo = nil
	}
	return dropped
}

// dropSamples codes again what is left of c outside [mint, maxt).
func dropSamples(c oooChunk, mint, maxt int64) (*oooChunk, int) {
	var ts []int64
	var vs []float64
	dropped := 0
	it := c.chunk.Iterator(nil)
	for it.Next() == storage.ValFloat {
		t, v := it.At()
		if t >= mint && t < maxt {
			dropped++
			continue
		}
		ts, vs = append(ts, t), append(vs, v)
	}
	if len(ts) == 0 {
		return nil, dropped
	}
	data, err := chunkenc.EncodeFloats(ts, vs)
	if err != nil {
		return &c, 0
	}
	c.minT, c.maxT = ts[0], ts[len(ts)-1]
	c.chunk = chunkenc.RawChunk{Enc: chunkenc.EncFloat, Data: data}
	return &c, dropped
}

// oooNumSamples counts the late samples held. Callers hold mtx.
func (s *memSeries) oooNumSamples() int {
	if s.ooo == nil {
		return 0
	}
	n := len(s.ooo.buf)
	for _, c := range s.ooo.chunks {
		n += c.chunk.NumSamples()
	}
	return n
}

// oooMinT is the oldest late sample's time, math.MaxInt64 if none.
// Callers hold mtx.
func (s *memSeries) oooMinT() int64 {
	m := int64(math.MaxInt64)
	if s.ooo == nil {
		return m
	}
	if len(s.ooo.buf) > 0 {
		m = s.ooo.buf[0].t
	}
	for _, c := range s.ooo.chunks {
		m = min(m, c.minT)
	}
	return m
}

// oooWindowsBefore lists the aligned block ranges holding late samples
// before t: they belong to ranges already cut into blocks.
func (h *Head) oooWindowsBefore(t int64) []int64 {
	seen := map[int64]bool{}
	h.series.forEach(func(s *memSeries) {
		s.mtx.Lock()
		defer s.mtx.Unlock()
		if s.ooo == nil {
			return
		}
		add := func(x int64) {
			if x < t {
				seen[alignDown(x, h.blockRange)] = true
			}
		}
		for _, x := range s.ooo.buf {
			add(x.t)
		}
		for _, c := range s.ooo.chunks {
			for w := alignDown(c.minT, h.blockRange); w <= c.maxT && w < t; w += h.blockRange {
				add(max(w, c.minT))
			}
		}
	})
	out := make([]int64, 0, len(seen))
	for w := range seen {
		out = append(out, w)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
