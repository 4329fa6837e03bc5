package chunkenc

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"

	"github.com/prometheus/prometheus/model/histogram"

	"github.com/graftlabs/graft/pkg/storage"
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
	w   bwriter
	enc floatEncoder
}

// mode is the chunk's value coding, kept in its header byte only: the head
// holds one open chunk per series, so every byte of this struct counts.
func (c *FloatChunk) mode() uint8 { return c.w.b[2] }

// floatEncoder is the state of the last sample written.
type floatEncoder struct {
	t, dt    int64
	m, dm    int64
	xorPrev  uint64
	xorLead  uint8 // 0xff: no window yet
	xorTrail uint8
}

// NewFloatChunk returns an empty appendable chunk.
func NewFloatChunk() *FloatChunk {
	c := &FloatChunk{}
	c.reset(0)
	return c
}

func (c *FloatChunk) reset(mode uint8) {
	c.w = bwriter{b: make([]byte, floatHeader, 32)}
	c.w.b[2] = mode
	c.enc = floatEncoder{xorLead: 0xff}
}

// Encoding implements Chunk.
func (c *FloatChunk) Encoding() Encoding { return EncFloat }

// Bytes returns the chunk's bytes; they change with the next Append.
func (c *FloatChunk) Bytes() []byte { return c.w.b }

// NumSamples implements Chunk.
func (c *FloatChunk) NumSamples() int { return int(binary.BigEndian.Uint16(c.w.b)) }

// Iterator implements Chunk. The chunk must not be appended to while the
// iterator is in use; callers copy the bytes of open chunks.
func (c *FloatChunk) Iterator(it storage.Iterator) storage.Iterator {
	return NewFloatIterator(c.w.b, it)
}

// Full says whether the chunk cannot take another sample.
func (c *FloatChunk) Full() bool { return c.NumSamples() == math.MaxUint16 }

// Append adds a sample; t must be after the last one (the head checks).
func (c *FloatChunk) Append(t int64, v float64) {
	n := c.NumSamples()
	if n == 0 {
		c.reset(firstMode(v))
	}
	if c.mode()&modeXOR == 0 {
		m, ok := scaled(v, c.mode()&modeScaleMask)
		if ok || special(v) {
			// The value's integer is computed once, for the check and the write.
			c.enc.writeT(&c.w, n, t)
			c.enc.writeInt(&c.w, c.mode(), n, v, m, ok)
			binary.BigEndian.PutUint16(c.w.b, uint16(n+1))
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
	binary.BigEndian.PutUint16(c.w.b, uint16(i+1))
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
	c.w.b = append(make([]byte, 0, len(b)+8), b...)
	c.w.free = uint8((8 - used%8) % 8)
	return c, nil
}

// FloatIterator decodes a float chunk.
type FloatIterator struct {
	r     breader
	n, i  int
	mode  uint8
	tb    *table
	scale float64
	enc   floatEncoder
	v     float64
	err   error
}

// NewFloatIterator iterates over the float chunk b, reusing it if possible.
func NewFloatIterator(b []byte, it storage.Iterator) storage.Iterator {
	fi, ok := it.(*FloatIterator)
	if !ok {
		fi = &FloatIterator{}
	}
	fi.reset(b)
	return fi
}

func (it *FloatIterator) reset(b []byte) {
	*it = FloatIterator{i: -1, enc: floatEncoder{xorLead: 0xff}}
	if len(b) < floatHeader {
		if len(b) > 0 {
			it.err = fmt.Errorf("float chunk of %d bytes: %w", len(b), errShortChunk)
		}
		return
	}
	it.n = int(binary.BigEndian.Uint16(b))
	it.mode = b[2]
	it.r = newBReader(b[floatHeader:])
	it.tb = &valueTables[(it.mode&modeTableMask)>>modeTableShft]
	if k := it.mode & modeScaleMask; k > 0 {
		it.scale = pow10[k]
	}
}

// Next implements storage.Iterator.
func (it *FloatIterator) Next() storage.ValueType {
	if it.err != nil || it.i+1 >= it.n {
		it.i = it.n
		return storage.ValNone
	}
	it.i++
	// Fast paths for the common codes; the general readers handle the
	// first samples, escapes and short buffers.
	e := &it.enc
	fastT := false
	if it.i >= 2 {
		var x int64
		if x, fastT = it.r.readCodedFast(&tsTable); fastT {
			e.dt += x
			e.t += e.dt
		}
	}
	if !fastT {
		if err := it.readT(); err != nil {
			return it.fail(err)
		}
	}
	if it.mode&modeXOR == 0 && it.i >= 1 {
		if x, ok := it.r.readCodedFast(it.tb); ok {
			if it.mode&modeDelta != 0 {
				e.m += x
			} else {
				e.dm += x
				e.m += e.dm
			}
			it.setV()
			return storage.ValFloat
		}
	}
	if err := it.readV(); err != nil {
		return it.fail(err)
	}
	return storage.ValFloat
}

func (it *FloatIterator) fail(err error) storage.ValueType {
	it.err = fmt.Errorf("decode float sample %d of %d: %w", it.i, it.n, err)
	it.i = it.n
	return storage.ValNone
}

func (it *FloatIterator) readT() error {
	e := &it.enc
	if it.i == 0 {
		t, err := it.r.readVarint()
		e.t = t
		return err
	}
	x, esc, err := readCoded(&it.r, &tsTable)
	if err != nil {
		return err
	}
	if esc {
		return fmt.Errorf("escaped timestamp")
	}
	if it.i == 1 {
		e.dt = x
	} else {
		e.dt += x
	}
	e.t += e.dt
	return nil
}

func (it *FloatIterator) readV() error {
	if it.mode&modeXOR != 0 {
		return it.readXOR()
	}
	e := &it.enc
	if it.i == 0 {
		esc, err := it.r.readBit()
		if err != nil {
			return err
		}
		if esc {
			u, err := it.r.readBits(64)
			it.v = math.Float64frombits(u)
			return err
		}
		if e.m, err = it.r.readVarint(); err != nil {
			return err
		}
		it.setV()
		return nil
	}
	x, esc, err := readCoded(&it.r, it.tb)
	if err != nil {
		return err
	}
	if esc {
		it.v = math.Float64frombits(uint64(x))
		return nil
	}
	if it.mode&modeDelta != 0 {
		e.m += x
	} else {
		e.dm += x
		e.m += e.dm
	}
	it.setV()
	return nil
}

func (it *FloatIterator) setV() {
	it.v = float64(it.enc.m)
	if it.scale != 0 {
		it.v /= it.scale
	}
}

func (it *FloatIterator) readXOR() error {
	e := &it.enc
	if it.i == 0 {
		u, err := it.r.readBits(64)
		e.xorPrev, it.v = u, math.Float64frombits(u)
		return err
	}
	same, err := it.r.readBit()
	if err != nil {
		return err
	}
	if !same {
		it.v = math.Float64frombits(e.xorPrev)
		return nil
	}
	newWindow, err := it.r.readBit()
	if err != nil {
		return err
	}
	if newWindow {
		lead, err := it.r.readBits(5)
		if err != nil {
			return err
		}
		sig, err := it.r.readBits(6)
		if err != nil {
			return err
		}
		if sig == 0 {
			sig = 64
		}
		if lead+sig > 64 {
			return fmt.Errorf("XOR window of %d+%d bits", lead, sig)
		}
		e.xorLead, e.xorTrail = uint8(lead), uint8(64-lead-sig)
	} else if e.xorLead == 0xff {
		return fmt.Errorf("XOR window reused before one was set")
	}
	sig := uint(64 - e.xorLead - e.xorTrail)
	x, err := it.r.readBits(sig)
	if err != nil {
		return err
	}
	e.xorPrev ^= x << e.xorTrail
	it.v = math.Float64frombits(e.xorPrev)
	return nil
}

// SeekTo implements storage.Iterator.
func (it *FloatIterator) SeekTo(t int64) storage.ValueType {
	if it.i >= 0 && it.i < it.n && it.enc.t >= t {
		return storage.ValFloat
	}
	for {
		vt := it.Next()
		if vt == storage.ValNone || it.enc.t >= t {
			return vt
		}
	}
}

// At implements storage.Iterator.
func (it *FloatIterator) At() (int64, float64) { return it.enc.t, it.v }

// AtT implements storage.Iterator.
func (it *FloatIterator) AtT() int64 { return it.enc.t }

// AtHistogram implements storage.Iterator; a float chunk has none.
func (it *FloatIterator) AtHistogram(h *histogram.Histogram) (int64, *histogram.Histogram) {
	return it.enc.t, h
}

// AtFloatHistogram implements storage.Iterator; a float chunk has none.
func (it *FloatIterator) AtFloatHistogram(fh *histogram.FloatHistogram) (int64, *histogram.FloatHistogram) {
	return it.enc.t, fh
}

// Err implements storage.Iterator.
func (it *FloatIterator) Err() error { return it.err }
