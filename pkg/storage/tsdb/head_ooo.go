package tsdb

import (
	"math"
	"slices"
	"sort"

	"github.com/graftlabs/graft/pkg/storage"
	"github.com/graftlabs/graft/pkg/storage/tsdb/chunkenc"
)

// Out-of-order samples: with an out-of-order window, a sample older than
// its series' newest (or than the blocks already cut) is accepted if it is
// within the window of the head's newest sample. Late samples wait in a
// small sorted buffer per series, then in coded chunks that may overlap the
// series' in-order chunks and one another; queries merge them (a stored
// sample wins over a late one at the same timestamp), and compaction writes
// them into blocks that compaction later merges with the overlapping ones.

// oooBufSamples is how many late samples a series buffers before coding
// them as chunks.
const oooBufSamples = 32

// oooChunk is a coded run of late samples. seq orders chunks by creation,
// so that truncation after a block write drops only what the block holds.
type oooChunk struct {
	headChunk
	seq uint64
}

// oooData holds a series' late samples.
type oooData struct {
	buf    []pendingSample // sorted, unique timestamps; series unset
	chunks []oooChunk
	// snapSeq is the newest chunk a block being written read.
	snapSeq uint64
}

// oooAllowed says whether a late sample at t is accepted.
func (h *Head) oooAllowed(t int64) bool {
	if h.oooWindow <= 0 {
		return false
	}
	maxt := h.MaxTime()
	// An empty head, or a window reaching below the smallest time, takes all.
	return maxt < math.MinInt64+h.oooWindow || t >= maxt-h.oooWindow
}

// oooDuplicate checks a late sample against the late ones held: an exact
// repeat is ignored (dup), another value at the same time is refused.
func (s *memSeries) oooDuplicate(p pendingSample) (dup bool, err error) {
	s.mtx.Lock()
	defer s.mtx.Unlock()
	if s.ooo == nil {
		return false, nil
	}
	old, found := s.ooo.lookup(p.t)
	switch {
	case !found:
		return false, nil
	case sameSample(old, p):
		return true, nil
	}
	return false, storage.ErrDuplicateSample
}

// sameSample says whether two samples hold the same value.
func sameSample(a, b pendingSample) bool {
	switch {
	case a.h != nil:
		return b.h != nil && a.h.Equals(b.h)
	case a.fh != nil:
		return b.fh != nil && a.fh.Equals(b.fh)
	}
	return b.h == nil && b.fh == nil && math.Float64bits(a.v) == math.Float64bits(b.v)
}

func searchBuf(buf []pendingSample, t int64) (int, bool) {
	return slices.BinarySearchFunc(buf, t, func(x pendingSample, t int64) int { return cmpInt(x.t, t) })
}

// lookup finds the late sample at t.
func (o *oooData) lookup(t int64) (pendingSample, bool) {
	if i, ok := searchBuf(o.buf, t); ok {
		return o.buf[i], true
	}
	var it storage.Iterator
	for _, c := range o.chunks {
		if t < c.minT || t > c.maxT {
			continue
		}
		it = c.chunk.Iterator(it)
		if vt := it.SeekTo(t); vt != storage.ValNone && it.AtT() == t {
			return sampleAt(it, vt), true
		}
	}
	return pendingSample{}, false
}

// insertOOO adds a late sample; one already held at its time wins. It
// reports whether the sample was added. Callers hold mtx (or own the series).
func (s *memSeries) insertOOO(p pendingSample, seq func() uint64) bool {
	if s.ooo == nil {
		s.ooo = &oooData{}
	}
	o := s.ooo
	if _, found := o.lookup(p.t); found {
		return false
	}
	p.s, p.ooo = nil, false
	// The appender's caller may reuse its histograms after the commit.
	if p.h != nil {
		p.h = p.h.Copy()
	}
	if p.fh != nil {
		p.fh = p.fh.Copy()
	}
	i, _ := searchBuf(o.buf, p.t)
	o.buf = slices.Insert(o.buf, i, p)
	if len(o.buf) >= oooBufSamples {
		o.seal(seq)
	}
	return true
}

// seal codes the buffer as chunks.
func (o *oooData) seal(seq func() uint64) {
	if len(o.buf) == 0 {
		return
	}
	cs, err := codeSamples(o.buf, math.MaxUint16)
	if err != nil {
		return // cannot happen: the samples were validated when appended
	}
	for _, c := range cs {
		o.chunks = append(o.chunks, oooChunk{headChunk: c, seq: seq()})
	}
	clear(o.buf)
	o.buf = o.buf[:0]
}

// oooSnapshot appends the late samples overlapping [mint, maxt] as chunks
// (the buffer coded on the fly). Callers hold mtx.
// oooChunksIn estimates how many chunks oooSnapshot returns.
func (s *memSeries) oooChunksIn(mint, maxt int64) int {
	if s.ooo == nil {
		return 0
	}
	n := 1 // the buffer, coded
	for _, c := range s.ooo.chunks {
		if c.maxT >= mint && c.minT <= maxt {
			n++
		}
	}
	return n
}

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
		if labelsOnly {
			return append(into, headChunk{minT: b[0].t, maxT: b[len(b)-1].t})
		}
		cs, _ := codeSamples(b, math.MaxUint16)
		into = append(into, cs...)
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
			in, _ := filterChunk(c.headChunk, func(t int64) bool { return t >= mint && t < maxt })
			into = append(into, in...)
		}
	}
	return into
}

// filterChunk codes the samples of c whose time keep accepts as chunks; it
// also returns how many it left out.
func filterChunk(c headChunk, keep func(int64) bool) ([]headChunk, int) {
	all, err := decodeChunk(c.chunk, nil)
	if err != nil {
		return []headChunk{c}, 0 // cannot happen: the head coded it
	}
	kept := slices.DeleteFunc(all, func(p pendingSample) bool { return !keep(p.t) })
	cs, err := codeSamples(kept, math.MaxUint16)
	if err != nil {
		return []headChunk{c}, 0
	}
	return cs, len(all) - len(kept)
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
		o.buf = slices.DeleteFunc(o.buf, func(x pendingSample) bool { return x.t >= mint && x.t < maxt })
		dropped += n - len(o.buf)
	}
	// A new slice: a chunk may be coded again as several.
	kept := make([]oooChunk, 0, len(o.chunks))
	for _, c := range o.chunks {
		if (snapshotOnly && c.seq > o.snapSeq) || c.maxT < mint || c.minT >= maxt {
			kept = append(kept, c)
			continue
		}
		rest, n := filterChunk(c.headChunk, func(t int64) bool { return t < mint || t >= maxt })
		dropped += n
		for _, r := range rest {
			kept = append(kept, oooChunk{headChunk: r, seq: c.seq})
		}
	}
	o.chunks = kept
	if len(o.buf) == 0 && len(o.chunks) == 0 {
		s.ooo = nil
	}
	return dropped
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

// oooMaxT is the newest late sample's time, math.MinInt64 if none.
// Callers hold mtx.
func (s *memSeries) oooMaxT() int64 {
	m := int64(math.MinInt64)
	if s.ooo == nil {
		return m
	}
	if len(s.ooo.buf) > 0 {
		m = s.ooo.buf[len(s.ooo.buf)-1].t
	}
	for _, c := range s.ooo.chunks {
		m = max(m, c.maxT)
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
