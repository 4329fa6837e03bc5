package chunkenc

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"unsafe"

	"github.com/graftlabs/graft/pkg/storage"
	"github.com/graftlabs/graft/pkg/storage/tsdb/internal/prefetch"
)

// A float chunk holds up to 65535 float samples:
//
//	count uint16 | mode byte | bits...
//
// Timestamps are delta-of-delta coded (tsTable). The mode byte says how the
// values are coded, chosen per chunk:
//
//   - integer (scale 0) or scaled decimal (scale k: the value is m / 10^k)
//     with m coded as delta-of-delta, or as a plain delta (modeDelta), with
//     one of valueTables. Most counters are integers, and most floats that
//     exporters print are short decimals (CPU seconds, load averages), whose
//     Gorilla XOR changes in nearly every mantissa bit.
//   - XOR (modeXOR), Gorilla's float coding, for anything else.
const (
	floatHeader = 3

	modeXOR       = 0x80
	modeDelta     = 0x10
	modeScaleMask = 0x0f
	modeTableMask = 0x60
	modeTableShft = 5

	// MaxScale is the largest decimal scale a chunk uses: 10^15 and every
	// m below 2^53 are exact in float64, so m / 10^k rounds exactly once.
	MaxScale = 15
)

var pow10 = func() (p [MaxScale + 1]float64) {
	p[0] = 1
	for i := 1; i <= MaxScale; i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// scaled returns m with v == m / 10^k exactly (bit for bit), if there is one.
func scaled(v float64, k uint8) (int64, bool) {
	x := v
	if k > 0 {
		x = v * pow10[k]
	}
	if !(math.Abs(x) < 1<<53) { // also false for NaN
		return 0, false
	}
	m := int64(math.Round(x))
	back := float64(m)
	if k > 0 {
		back /= pow10[k]
	}
	return m, math.Float64bits(back) == math.Float64bits(v)
}

// minScale is the smallest scale >= from that holds v exactly.
func minScale(v float64, from uint8) (uint8, bool) {
	for k := from; k <= MaxScale; k++ {
		if _, ok := scaled(v, k); ok {
			return k, true
		}
	}
	return 0, false
}

// special values are escaped in integer chunks rather than changing mode.
func special(v float64) bool {
	return math.IsNaN(v) || math.IsInf(v, 0) || (v == 0 && math.Signbit(v))
}

// FloatChunk is an appendable float chunk. Its appends choose the value
// coding on the fly: integer, then a larger decimal scale when a value needs
// one (the chunk is rewritten), then XOR when nothing exact is left.
type FloatChunk struct {
	w     bwriter
	enc   floatEncoder
	seeks seekPoints
}

// mode is the chunk's value coding.
func (c *FloatChunk) mode() uint8 { return c.enc.mode }

// floatEncoder is the state of the last sample written.
type floatEncoder struct {
	t, dt int64
	m, dm int64
	// xorPrev is the last value's bits, in every mode: XOR coding needs
	// them, and views hand out the last sample without decoding.
	xorPrev  uint64
	xorLead  uint8 // 0xff: no window yet
	xorTrail uint8
	// seeksOff says an open chunk records no more seek points (see
	// float_seek.go); it takes the struct's padding.
	seeksOff bool
	// mode and n mirror the header's coding and sample count, in the
	// padding too: appends read them here and only write the header, whose
	// cache line, with the head appending to 100k chunks in turn, is
	// seldom in cache (measured: 6% off a round of appends on average).
	mode uint8
	n    uint16
}

// NewFloatChunk returns an empty appendable chunk.
func NewFloatChunk() *FloatChunk {
	c := &FloatChunk{}
	c.reset(0)
	return c
}

// reset empties the chunk into a new buffer, coded in mode: views may
// share the old one.
func (c *FloatChunk) reset(mode uint8) {
	c.w.b = make([]byte, 0, 32)
	c.restart(mode)
}

// restart empties the chunk into its own buffer, coded in mode; no view
// may share the buffer.
func (c *FloatChunk) restart(mode uint8) {
	// Seek points recorded stay for the views of the bytes before.
	off := c.enc.seeksOff || c.seeks[0].pos != 0
	c.w = bwriter{b: append(c.w.b[:0], 0, 0, mode)}
	c.enc = floatEncoder{xorLead: 0xff, seeksOff: off, mode: mode}
}

// Encoding implements Chunk.
func (c *FloatChunk) Encoding() Encoding { return EncFloat }

// Bytes returns the chunk's bytes; they change with the next Append.
func (c *FloatChunk) Bytes() []byte { return c.w.b }

// NumSamples implements Chunk.
func (c *FloatChunk) NumSamples() int { return int(c.enc.n) }

// Iterator implements Chunk. The chunk must not be appended to while the
// iterator is in use; readers beside appends read a View.
func (c *FloatChunk) Iterator(it storage.Iterator) storage.Iterator {
	return NewFloatIterator(c.w.b, it)
}

// View returns the samples appended so far as a chunk that later appends
// do not change, without copying their bytes. The caller holds off appends
// while taking it; the chunk must hold a sample.
func (c *FloatChunk) View() RawChunk {
	v := view(EncFloat, c.w.b)
	v.lastV = math.Float64frombits(c.enc.xorPrev)
	v.seeks = c.viewSeeks()
	return v
}

// PrefetchState starts loading the chunk's own fields, which the next
// Append reads first; PrefetchBytes, called once they are in cache, the
// bytes it reads and writes. A caller appending to many chunks in turn
// calls them a few chunks ahead (see package prefetch).
func (c *FloatChunk) PrefetchState() {
	p := unsafe.Pointer(c)
	prefetch.Line(p)
	prefetch.Line(unsafe.Add(p, 64))
}

// PrefetchBytes: see PrefetchState.
func (c *FloatChunk) PrefetchBytes() {
	b := c.w.b
	prefetch.Line(unsafe.Pointer(unsafe.SliceData(b)))
	prefetch.Line(unsafe.Pointer(&b[len(b)-1]))
}

// Full says whether the chunk cannot take another sample.
func (c *FloatChunk) Full() bool { return c.NumSamples() == math.MaxUint16 }

// Append adds a sample; t must be after the last one (the head checks).
func (c *FloatChunk) Append(t int64, v float64) {
	n := c.NumSamples()
	if n == 0 {
		// Views need a sample, so none shares the buffer: keep it.
		c.restart(firstMode(v))
	}
	if c.mode()&modeXOR == 0 {
		m, ok := scaled(v, c.mode()&modeScaleMask)
		if ok || special(v) {
			// The value's integer is computed once, for the check and the write.
			c.enc.writeT(&c.w, n, t)
			c.enc.writeInt(&c.w, c.mode(), n, v, m, ok)
			c.setCount(n + 1)
			c.noteSeek(n + 1)
			return
		}
		c.changeMode(v)
	}
	c.write(n, t, v)
}

// firstMode picks the coding for a chunk starting with v.
func firstMode(v float64) uint8 {
	if special(v) {
		return 0
	}
	if k, ok := minScale(v, 0); ok {
		return k
	}
	return modeXOR
}

// changeMode rewrites the chunk with a larger scale that holds v and every
// earlier value, or as XOR.
func (c *FloatChunk) changeMode(v float64) {
	ts, vs := c.decodeAll()
	mode := uint8(modeXOR)
	if k, ok := minScale(v, c.mode()&modeScaleMask+1); ok && allScale(vs, k) {
		mode = k
	}
	c.reset(mode)
	for i := range ts {
		c.write(i, ts[i], vs[i])
	}
}

func allScale(vs []float64, k uint8) bool {
	for _, v := range vs {
		if _, ok := scaled(v, k); !ok && !special(v) {
			return false
		}
	}
	return true
}

func (c *FloatChunk) decodeAll() ([]int64, []float64) {
	n := c.NumSamples()
	ts, vs := make([]int64, 0, n), make([]float64, 0, n)
	it := NewFloatIterator(c.w.b, nil)
	for it.Next() == storage.ValFloat {
		t, v := it.At()
		ts, vs = append(ts, t), append(vs, v)
	}
	return ts, vs
}

// write appends sample number i, which the mode can hold.
func (c *FloatChunk) write(i int, t int64, v float64) {
	c.enc.writeT(&c.w, i, t)
	c.enc.writeV(&c.w, c.mode(), i, v)
	c.setCount(i + 1)
	c.noteSeek(i + 1)
}

// setCount records the sample count, in the header and its mirror.
func (c *FloatChunk) setCount(n int) {
	binary.BigEndian.PutUint16(c.w.b, uint16(n))
	c.enc.n = uint16(n)
}

func (e *floatEncoder) writeT(w *bwriter, i int, t int64) {
	switch i {
	case 0:
		w.writeVarint(t)
	case 1:
		e.dt = t - e.t
		writeCoded(w, e.dt, &tsTable)
	default:
		dt := t - e.t
		writeCoded(w, dt-e.dt, &tsTable)
		e.dt = dt
	}
	e.t = t
}

func (e *floatEncoder) writeV(w *bwriter, mode uint8, i int, v float64) {
	if mode&modeXOR != 0 {
		e.writeXOR(w, i, v)
		return
	}
	m, ok := scaled(v, mode&modeScaleMask)
	e.writeInt(w, mode, i, v, m, ok)
}

// writeInt writes value v of an integer or decimal chunk, m being v scaled
// (ok false: v is special and escaped).
func (e *floatEncoder) writeInt(w *bwriter, mode uint8, i int, v float64, m int64, ok bool) {
	e.xorPrev = math.Float64bits(v)
	if i == 0 {
		if !ok {
			w.writeBits(1, 1)
			w.writeBits(math.Float64bits(v), 64)
			return
		}
		w.writeBits(0, 1)
		w.writeVarint(m)
		e.m = m
		return
	}
	if !ok {
		writeEscapedFloat(w, v)
		return
	}
	tb := &valueTables[(mode&modeTableMask)>>modeTableShft]
	d := m - e.m
	if mode&modeDelta != 0 {
		writeCoded(w, d, tb)
	} else {
		writeCoded(w, d-e.dm, tb)
		e.dm = d
	}
	e.m = m
}

func (e *floatEncoder) writeXOR(w *bwriter, i int, v float64) {
	b := math.Float64bits(v)
	if i == 0 {
		w.writeBits(b, 64)
		e.xorPrev = b
		return
	}
	x := b ^ e.xorPrev
	e.xorPrev = b
	if x == 0 {
		w.writeBits(0, 1)
		return
	}
	lead := uint8(min(bits.LeadingZeros64(x), 31))
	trail := uint8(bits.TrailingZeros64(x))
	if e.xorLead != 0xff && lead >= e.xorLead && trail >= e.xorTrail {
		w.writeBits(0b10, 2)
		w.writeBits(x>>e.xorTrail, int(64-e.xorLead-e.xorTrail))
		return
	}
	sig := 64 - lead - trail
	w.writeBits(0b11, 2)
	w.writeBits(uint64(lead), 5)
	w.writeBits(uint64(sig&63), 6) // 64 significant bits are written as 0
	w.writeBits(x>>trail, int(sig))
	e.xorLead, e.xorTrail = lead, trail
}

// FloatChunkFromBytes reopens a chunk (from a head snapshot) for appending.
func FloatChunkFromBytes(b []byte) (*FloatChunk, error) {
	if len(b) < floatHeader {
		return nil, fmt.Errorf("float chunk of %d bytes: %w", len(b), errShortChunk)
	}
	it := NewFloatIterator(b, nil).(*FloatIterator)
	for it.Next() != storage.ValNone {
	}
	if it.Err() != nil {
		return nil, it.Err()
	}
	used := (floatHeader+it.r.i)*8 - int(it.r.n)
	if (used+7)/8 != len(b) {
		return nil, fmt.Errorf("float chunk has %d trailing bytes", len(b)-(used+7)/8)
	}
	c := &FloatChunk{enc: it.enc}
	c.enc.n, c.enc.mode = binary.BigEndian.Uint16(b), b[2]
	if it.n > 0 {
		_, v := it.At()
		c.enc.xorPrev = math.Float64bits(v) // the decoder keeps it for XOR only
	}
	c.w.b = append(make([]byte, 0, len(b)+8), b...)
	c.w.free = uint8((8 - used%8) % 8)
	return c, nil
}
