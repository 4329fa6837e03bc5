package chunkenc

import "math"

// An open float chunk remembers the decoder's state every seekStride
// samples, so that a reader of its view seeking past one (a query over the
// newest minutes) starts there instead of decoding the chunk from its
// start. Dashboards mostly read the newest data, which is in the open
// chunk; sealed chunks keep no seek points (they would cost memory for
// every chunk of the head, not one per series). Three points, in the
// chunk, cost 96 bytes a series and leave a seek into a 120-sample chunk
// (where the head cuts) at most 32 samples to decode, 15 on average.
const (
	seekStride = 32
	seekCount  = 3
)

// seekPoint is the decoder's state after sample (j+1)*seekStride-1 of a
// chunk, j being its index in seekPoints.
type seekPoint struct {
	t int64
	// v is the value state: m in integer and decimal chunks, the last
	// value's bits in XOR chunks.
	v uint64
	// aux is dm in integer and decimal chunks (a decimal's steps are
	// large: 10^12 for a step of 1 at scale 12), xorLead<<8|xorTrail in
	// XOR chunks.
	aux int64
	dt  int32
	// pos is the bit offset of the next sample in the chunk's body (past
	// the header); 0 marks a point not recorded.
	pos uint32
}

// seekPoints are an open chunk's points. A point, once recorded, never
// changes: views hand the array to readers, which read the points below
// their view's sample count while appends record later ones. A chunk
// rewritten after recording points (a mode change) records no more, and
// its later views take none: the points describe the bytes before.
type seekPoints [seekCount]seekPoint

// noteSeek records a seek point if the chunk now holds a multiple of
// seekStride samples.
func (c *FloatChunk) noteSeek(n int) {
	if n%seekStride != 0 || n/seekStride > seekCount || c.enc.seeksOff {
		return
	}
	if p, ok := c.enc.seekPoint(c.mode(), c.w.bitLen()-floatHeader*8); ok {
		c.seeks[n/seekStride-1] = p
	}
}

// viewSeeks are the points a view may read.
func (c *FloatChunk) viewSeeks() *seekPoints {
	if c.enc.seeksOff {
		return nil
	}
	return &c.seeks
}

// seekPoint packs the encoder's state; ok is false where it does not fit
// (time deltas beyond 32 bits, huge chunks).
func (e *floatEncoder) seekPoint(mode uint8, pos int) (seekPoint, bool) {
	p := seekPoint{t: e.t, dt: int32(e.dt), pos: uint32(pos)}
	if int64(p.dt) != e.dt || pos <= 0 || int64(pos) > math.MaxUint32 {
		return p, false
	}
	if mode&modeXOR != 0 {
		p.v, p.aux = e.xorPrev, int64(e.xorLead)<<8|int64(e.xorTrail)
		return p, true
	}
	p.v, p.aux = uint64(e.m), e.dm
	return p, true
}

// seekFrom moves a fresh iterator to the last seek point before t, if its
// chunk has one: the samples before it are not decoded.
func (it *FloatIterator) seekFrom(t int64) {
	for j := seekCount - 1; j >= 0; j-- {
		p, d := &it.seeks[j], (j+1)*seekStride
		if d > it.n || p.pos == 0 || p.t >= t {
			continue
		}
		if !it.r.skipBits(uint(p.pos)) {
			return // a fresh reader at its start: nothing moved
		}
		it.d = d
		it.enc.t, it.enc.dt = p.t, int64(p.dt)
		if it.mode&modeXOR != 0 {
			it.enc.xorPrev, it.enc.xorLead, it.enc.xorTrail = p.v, uint8(p.aux>>8), uint8(p.aux)
			it.v = math.Float64frombits(p.v)
		} else {
			it.enc.m, it.enc.dm = int64(p.v), p.aux
			it.setV()
		}
		return
	}
}

// skipBits moves a reader that has read nothing to bit pos of its input;
// it reports false, leaving the reader as it was, if the input is shorter.
func (r *breader) skipBits(pos uint) bool {
	saved := *r
	r.i, r.buf, r.n = int(pos>>3), 0, 0
	if r.i > len(r.b) {
		*r = saved
		return false
	}
	r.refill()
	if skip := pos & 7; skip > 0 {
		if r.n < skip {
			*r = saved
			return false
		}
		r.buf <<= skip
		r.n -= skip
	}
	return true
}
