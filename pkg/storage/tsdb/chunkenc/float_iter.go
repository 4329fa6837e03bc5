package chunkenc

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"

	"github.com/prometheus/prometheus/model/histogram"

	"github.com/graftlabs/graft/pkg/storage"
)

// floatBatch is how many samples a FloatIterator decodes at once.
const floatBatch = 64

// FloatIterator decodes a float chunk a batch of samples at a time: the
// decoding loops keep their state in locals instead of the iterator, and
// Next and At only index the batch.
type FloatIterator struct {
	r     breader
	n, d  int // samples in the chunk, samples decoded so far
	mode  uint8
	tb    *table
	scale float64
	enc   floatEncoder
	v     float64 // the value of the last sample decoded
	err   error
	seeks *seekPoints // a view's seek points, or nil

	k, kn int  // the current sample's index in the batch, the batch's length
	done  bool // Next went past the last sample
	ts    [floatBatch]int64
	vs    [floatBatch]float64
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
	if len(b) < floatHeader {
		it.init(0, 0, breader{})
		if len(b) > 0 {
			it.err = fmt.Errorf("float chunk of %d bytes: %w", len(b), errShortChunk)
		}
		return
	}
	it.init(int(binary.BigEndian.Uint16(b)), b[2], newBReader(b[floatHeader:]))
}

// init starts reading n samples of value coding mode from r. Fields are
// set one by one: the batch needs no clearing.
func (it *FloatIterator) init(n int, mode uint8, r breader) {
	it.r, it.n, it.d, it.mode = r, n, 0, mode
	it.tb = &valueTables[(mode&modeTableMask)>>modeTableShft]
	it.scale = 0
	if k := mode & modeScaleMask; k > 0 {
		it.scale = pow10[k]
	}
	it.enc = floatEncoder{xorLead: 0xff}
	it.v, it.err, it.seeks = 0, nil, nil
	it.k, it.kn, it.done = 0, 0, false
}

// Next implements storage.Iterator.
func (it *FloatIterator) Next() storage.ValueType {
	if it.k+1 < it.kn {
		it.k++
		return storage.ValFloat
	}
	return it.nextBatch()
}

// nextBatch decodes the next samples into the batch. Past the end, the
// batch keeps the last sample current, for At.
func (it *FloatIterator) nextBatch() storage.ValueType {
	if it.done {
		return storage.ValNone
	}
	m := 0
	for m < floatBatch && it.d < it.n && it.err == nil {
		before := it.d
		if it.d >= 2 {
			if it.mode&modeXOR != 0 {
				m = it.xorRun(m)
			} else {
				m = it.intRun(m)
			}
		}
		if it.d == before && it.err == nil {
			m = it.slowSample(m)
		}
	}
	if m == 0 {
		it.done = true
		return storage.ValNone
	}
	it.k, it.kn = 0, m
	return storage.ValFloat
}

// slowSample decodes one sample with the general readers (first samples,
// escapes, rare codes, the chunk's last bits) into the batch at m.
func (it *FloatIterator) slowSample(m int) int {
	if err := readTimestamp(&it.r, &it.enc, it.d); err != nil {
		it.fail(err)
		return m
	}
	if err := it.readV(); err != nil {
		it.fail(err)
		return m
	}
	it.ts[m], it.vs[m] = it.enc.t, it.v
	it.d++
	return m + 1
}

func (it *FloatIterator) fail(err error) {
	it.err = fmt.Errorf("decode float sample %d of %d: %w", it.d, it.n, err)
}

// xorRun decodes samples of an XOR chunk into the batch from m while their
// codes are the common ones and their bits buffered, and returns the new
// batch length; what it cannot take is left to the general readers.
func (it *FloatIterator) xorRun(m int) int {
	b, bi, buf, nb := it.r.b, it.r.i, it.r.buf, it.r.n
	t, dt := it.enc.t, it.enc.dt
	prev, lead, trail := it.enc.xorPrev, uint(it.enc.xorLead), uint(it.enc.xorTrail)
	start, end := m, min(floatBatch, m+it.n-it.d)
	slowV := false
	for m < end {
		if nb <= 56 { // refillLocal, inlined by hand: once per sample
			if bi+8 <= len(b) {
				k := (64 - nb) >> 3
				buf |= binary.BigEndian.Uint64(b[bi:]) >> nb
				bi, nb = bi+int(k), nb+k<<3
			} else if bi < len(b) || it.r.hasTail {
				bi, buf, nb = it.r.refillSlow(bi, buf, nb)
			}
		}
		// Regular scrapes: most timestamps are the one-bit '0'.
		if nb > 0 && buf>>63 == 0 {
			buf <<= 1
			nb--
		} else {
			var ok bool
			if buf, nb, dt, ok = fastCoded(buf, nb, dt, &tsTable); !ok {
				break
			}
		}
		t += dt
		switch {
		case nb >= 1 && buf>>63 == 0:
			buf <<= 1
			nb--
		case nb >= 2 && buf>>62 == 2 && lead != 0xff:
			sig := 64 - lead - trail
			if 2+sig <= nb {
				prev ^= (buf << 2 >> (64 - sig)) << trail
				buf <<= 2 + sig
				nb -= 2 + sig
				break
			}
			var x uint64
			var ok bool
			if x, bi, buf, nb, ok = it.r.takeLocal(bi, buf<<2, nb-2, sig); !ok {
				it.r.i, it.r.buf, it.r.n = bi, buf, nb
				it.fail(errShortChunk)
				return m
			}
			prev ^= x << trail
		case nb >= 13 && buf>>62 == 3:
			l, sig := uint(buf>>57)&31, uint(buf>>51)&63
			if sig == 0 {
				sig = 64
			}
			if l+sig > 64 {
				slowV = true // the general reader reports it
				break
			}
			var x uint64
			var ok bool
			if x, bi, buf, nb, ok = it.r.takeLocal(bi, buf<<13, nb-13, sig); !ok {
				it.r.i, it.r.buf, it.r.n = bi, buf, nb
				it.fail(errShortChunk)
				return m
			}
			lead, trail = l, 64-l-sig
			prev ^= x << trail
		default:
			slowV = true
		}
		if slowV {
			break
		}
		it.ts[m], it.vs[m] = t, math.Float64frombits(prev)
		m++
	}
	it.r.i, it.r.buf, it.r.n = bi, buf, nb
	it.enc.t, it.enc.dt = t, dt
	it.enc.xorPrev, it.enc.xorLead, it.enc.xorTrail = prev, uint8(lead), uint8(trail)
	it.d += m - start
	if !slowV {
		return m
	}
	// The timestamp is read; the value takes the general reader.
	if err := it.readXOR(); err != nil {
		it.fail(err)
		return m
	}
	it.ts[m], it.vs[m] = t, it.v
	it.d++
	return m + 1
}

// intRun is xorRun for integer and decimal chunks.
func (it *FloatIterator) intRun(m int) int {
	b, bi, buf, nb := it.r.b, it.r.i, it.r.buf, it.r.n
	t, dt, mm, dm := it.enc.t, it.enc.dt, it.enc.m, it.enc.dm
	tb, delta, scale := it.tb, it.mode&modeDelta != 0, it.scale
	start, end := m, min(floatBatch, m+it.n-it.d)
	slowV := false
	for m < end {
		if nb <= 56 { // refillLocal, inlined by hand: once per sample
			if bi+8 <= len(b) {
				k := (64 - nb) >> 3
				buf |= binary.BigEndian.Uint64(b[bi:]) >> nb
				bi, nb = bi+int(k), nb+k<<3
			} else if bi < len(b) || it.r.hasTail {
				bi, buf, nb = it.r.refillSlow(bi, buf, nb)
			}
		}
		// Regular scrapes: most timestamps are the one-bit '0'.
		if nb > 0 && buf>>63 == 0 {
			buf <<= 1
			nb--
		} else {
			var ok bool
			if buf, nb, dt, ok = fastCoded(buf, nb, dt, &tsTable); !ok {
				break
			}
		}
		t += dt
		x, ok := int64(0), false
		if buf, nb, x, ok = fastCoded(buf, nb, 0, tb); !ok {
			bi, buf, nb = it.r.refillLocal(bi, buf, nb)
			if buf, nb, x, ok = fastCoded(buf, nb, 0, tb); !ok {
				slowV = true
				break
			}
		}
		if delta {
			mm += x
		} else {
			dm += x
			mm += dm
		}
		v := float64(mm)
		if scale != 0 {
			v /= scale
		}
		it.ts[m], it.vs[m] = t, v
		m++
	}
	it.r.i, it.r.buf, it.r.n = bi, buf, nb
	it.enc.t, it.enc.dt, it.enc.m, it.enc.dm = t, dt, mm, dm
	it.d += m - start
	if !slowV {
		return m
	}
	if err := it.readV(); err != nil {
		it.fail(err)
		return m
	}
	it.ts[m], it.vs[m] = t, it.v
	it.d++
	return m + 1
}

// refillLocal is refill over the reader's position and buffer held in
// locals by a decoding loop.
func (r *breader) refillLocal(i int, buf uint64, n uint) (int, uint64, uint) {
	if i+8 <= len(r.b) {
		k := (64 - n) >> 3
		return i + int(k), buf | binary.BigEndian.Uint64(r.b[i:])>>n, n + k<<3
	}
	return r.refillSlow(i, buf, n)
}

// refillSlow is kept out of line so that refillLocal inlines.
//
//go:noinline
func (r *breader) refillSlow(i int, buf uint64, n uint) (int, uint64, uint) {
	r.i, r.buf, r.n = i, buf, n
	r.refill()
	return r.i, r.buf, r.n
}

// takeLocal reads w bits (1 to 64) from a reader held in locals, refilling
// as needed; ok is false if the data ends first.
func (r *breader) takeLocal(i int, buf uint64, n, w uint) (x uint64, i2 int, buf2 uint64, n2 uint, ok bool) {
	if w > n {
		if i, buf, n = r.refillLocal(i, buf, n); w > n {
			// Over 57 bits: in two parts, refilling between them.
			if w <= 32 || n < w-32 {
				return 0, i, buf, n, false
			}
			hi := w - 32
			x, buf, n = buf>>(64-hi), buf<<hi, n-hi
			if i, buf, n = r.refillLocal(i, buf, n); n < 32 {
				return 0, i, buf, n, false
			}
			return x<<32 | buf>>32, i, buf << 32, n - 32, true
		}
	}
	return buf >> (64 - w), i, buf << w, n - w, true
}

// fastCoded reads a value written by writeCoded from the buffered bits buf
// (nb of them) and adds it to acc, when it is not an escape and its bits
// are all buffered; ok is false otherwise, with nothing consumed.
func fastCoded(buf uint64, nb uint, acc int64, tb *table) (uint64, uint, int64, bool) {
	k := uint(bits.LeadingZeros64(^buf))
	if k == 0 {
		if nb == 0 {
			return buf, nb, acc, false
		}
		return buf << 1, nb - 1, acc, true
	}
	if k >= 5 {
		return buf, nb, acc, false
	}
	w := uint(tb[k-1])
	total := k + 1 + w
	if total > nb {
		return buf, nb, acc, false
	}
	return buf << total, nb - total, acc + int64(buf<<(k+1))>>(64-w), true
}

// readTimestamp reads sample i's timestamp into e with the general reader.
func readTimestamp(r *breader, e *floatEncoder, i int) error {
	if i == 0 {
		t, err := r.readVarint()
		e.t = t
		return err
	}
	x, esc, err := readCoded(r, &tsTable)
	if err != nil {
		return err
	}
	if esc {
		return fmt.Errorf("escaped timestamp")
	}
	if i == 1 {
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
	if it.d == 0 {
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
	if it.d == 0 {
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

// SeekTo implements storage.Iterator: samples before t are skipped a
// batch at a time.
func (it *FloatIterator) SeekTo(t int64) storage.ValueType {
	if it.d == 0 && it.seeks != nil {
		it.seekFrom(t)
	}
	for {
		if it.kn > 0 && !it.done && it.ts[it.kn-1] >= t {
			for it.ts[it.k] < t {
				it.k++
			}
			return storage.ValFloat
		}
		if it.nextBatch() == storage.ValNone {
			return storage.ValNone
		}
	}
}

// At implements storage.Iterator.
func (it *FloatIterator) At() (int64, float64) { return it.ts[it.k], it.vs[it.k] }

// Floats implements storage.FloatBatchIterator: the rest of the batch.
func (it *FloatIterator) Floats() ([]int64, []float64) {
	if it.done || it.k >= it.kn {
		return nil, nil
	}
	k := it.k
	it.k = it.kn - 1
	return it.ts[k:it.kn], it.vs[k:it.kn]
}

// AtT implements storage.Iterator.
func (it *FloatIterator) AtT() int64 { return it.ts[it.k] }

// AtHistogram implements storage.Iterator; a float chunk has none.
func (it *FloatIterator) AtHistogram(h *histogram.Histogram) (int64, *histogram.Histogram) {
	return it.AtT(), h
}

// AtFloatHistogram implements storage.Iterator; a float chunk has none.
func (it *FloatIterator) AtFloatHistogram(fh *histogram.FloatHistogram) (int64, *histogram.FloatHistogram) {
	return it.AtT(), fh
}

// Err implements storage.Iterator.
func (it *FloatIterator) Err() error { return it.err }
