package chunkenc

import (
	"encoding/binary"
	"errors"
	"math/bits"
)

// errShortChunk reports a chunk whose bits end before its samples do.
var errShortChunk = errors.New("chunk data ends early")

// bwriter appends bits to a byte slice, most significant bit first.
type bwriter struct {
	b    []byte
	free uint8 // bits still free in the last byte of b
}

// writeBits writes the low n bits of u (0 <= n <= 64): first into the
// free bits of the last byte, then as whole bytes at once.
func (w *bwriter) writeBits(u uint64, n int) {
	if n < 64 {
		u &= 1<<uint(n) - 1
	}
	if w.free > 0 && n > 0 {
		take := min(n, int(w.free))
		w.b[len(w.b)-1] |= byte(u>>uint(n-take)) << (w.free - uint8(take))
		w.free -= uint8(take)
		n -= take
		if n == 0 {
			return
		}
		u &= 1<<uint(n) - 1
	}
	if n == 0 {
		return
	}
	// Byte-aligned: the n bits, left-aligned, as big-endian bytes.
	k := (n + 7) >> 3
	var tmp [8]byte
	binary.BigEndian.PutUint64(tmp[:], u<<uint(64-n))
	w.b = append(w.b, tmp[:k]...)
	w.free = uint8(k<<3 - n)
}

func (w *bwriter) writeBit(bit bool) {
	if bit {
		w.writeBits(1, 1)
	} else {
		w.writeBits(0, 1)
	}
}

// writeVarint writes a signed integer as zig-zag groups of 7 bits, each
// preceded by a continuation bit: cheap for the first sample of a chunk.
func (w *bwriter) writeVarint(v int64) {
	u := uint64(v<<1) ^ uint64(v>>63)
	for u >= 0x80 {
		w.writeBits(u&0x7f|0x80, 8)
		u >>= 7
	}
	w.writeBits(u, 8)
}

// bitLen is the number of bits written so far.
func (w *bwriter) bitLen() int { return len(w.b)*8 - int(w.free) }

// breader reads bits written by bwriter. The zero value reads nothing.
type breader struct {
	b   []byte
	i   int    // next byte of b to load into buf
	buf uint64 // unread bits, left-aligned
	n   uint   // number of valid bits in buf
	// tail, when hasTail, is one more byte after b: the last byte of an
	// open chunk's view, copied because appends change it in place.
	tail    byte
	hasTail bool
}

func newBReader(b []byte) breader { return breader{b: b} }

// refill loads whole bytes until at least 57 bits are buffered or the input
// ends. Eight bytes are loaded at once where there are that many: the bits
// past the counted ones are the stream's next bits, which a later refill
// ORs in again at the same place, so they never disturb the buffer.
func (r *breader) refill() {
	if r.i+8 <= len(r.b) {
		r.buf |= binary.BigEndian.Uint64(r.b[r.i:]) >> r.n
		k := (64 - r.n) >> 3
		r.i += int(k)
		r.n += k << 3
		return
	}
	// The last bytes (and a view's tail byte after them): as many as fit,
	// loaded at once through a padded copy.
	var tmp [9]byte
	k := copy(tmp[:8], r.b[r.i:])
	if r.hasTail {
		tmp[k] = r.tail
	}
	take := min(k+b2i(r.hasTail), int(64-r.n)>>3)
	if take == 0 {
		return
	}
	clear(tmp[take:])
	r.buf |= binary.BigEndian.Uint64(tmp[:8]) >> r.n
	r.n += uint(take) << 3
	if take > k {
		r.hasTail = false
	}
	r.i += min(take, k)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// readBits reads n bits (0 <= n <= 64).
func (r *breader) readBits(n uint) (uint64, error) {
	if n > 56 {
		hi, err := r.readBits(n - 32)
		if err != nil {
			return 0, err
		}
		lo, err := r.readBits(32)
		return hi<<32 | lo, err
	}
	if n > r.n {
		r.refill()
		if n > r.n {
			return 0, errShortChunk
		}
	}
	if n == 0 {
		return 0, nil
	}
	v := r.buf >> (64 - n)
	r.buf <<= n
	r.n -= n
	return v, nil
}

func (r *breader) readBit() (bool, error) {
	v, err := r.readBits(1)
	return v == 1, err
}

// leadingOnes consumes and counts up to max leading one bits (stopping after
// the first zero, which is consumed too).
func (r *breader) leadingOnes(max uint) (uint, error) {
	if r.n < max+1 {
		r.refill()
	}
	k := uint(bits.LeadingZeros64(^r.buf))
	if k >= max {
		if r.n < max {
			return 0, errShortChunk
		}
		r.buf <<= max
		r.n -= max
		return max, nil
	}
	if r.n < k+1 {
		return 0, errShortChunk
	}
	r.buf <<= k + 1
	r.n -= k + 1
	return k, nil
}

func (r *breader) readVarint() (int64, error) {
	var u uint64
	for shift := uint(0); ; shift += 7 {
		if shift > 63 {
			return 0, errors.New("varint overflows 64 bits")
		}
		g, err := r.readBits(8)
		if err != nil {
			return 0, err
		}
		u |= (g & 0x7f) << shift
		if g < 0x80 {
			break
		}
	}
	return int64(u>>1) ^ -int64(u&1), nil
}
