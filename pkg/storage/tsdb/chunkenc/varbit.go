package chunkenc

import (
	"math"
	"math/bits"
)

// A table gives the payload widths of the prefix codes '10', '110', '1110'
// and '11110'. The code '0' means zero; '11111' is followed by one bit and
// 64 raw bits: a plain int64 (bit 0) or an escaped float64 (bit 1), the
// latter for values an integer chunk cannot hold (NaN, stale markers, ±Inf).
type table [4]uint8

// tsTable codes timestamp delta-of-deltas: '10' covers ±256ms of scrape
// jitter in 11 bits, where Gorilla spends 16.
var tsTable = table{9, 14, 20, 32}

// valueTables code integer value deltas; a sealed chunk uses whichever is
// smallest for its data, the head always the first.
var valueTables = [4]table{
	{6, 13, 20, 32},
	{10, 16, 24, 40},
	{16, 22, 32, 48},
	{22, 28, 40, 52},
}

// fits says whether x is representable in n bits of two's complement.
func fits(x int64, n uint8) bool {
	lim := int64(1) << (n - 1)
	return x >= -lim && x < lim
}

func writeCoded(w *bwriter, x int64, tb *table) {
	if x == 0 {
		w.writeBits(0, 1)
		return
	}
	for i, n := range tb {
		if fits(x, n) {
			// i+1 ones then a zero (0b10, 0b110, 0b1110, 0b11110), then
			// the payload: at most 5+52 bits, written at once.
			prefix := uint64(1)<<uint(i+2) - 2
			w.writeBits(prefix<<n|uint64(x)&(1<<n-1), i+2+int(n))
			return
		}
	}
	w.writeBits(0x1f, 5)
	w.writeBits(0, 1)
	w.writeBits(uint64(x), 64)
}

func writeEscapedFloat(w *bwriter, v float64) {
	w.writeBits(0x1f, 5)
	w.writeBits(1, 1)
	w.writeBits(math.Float64bits(v), 64)
}

// codedCost is the number of bits writeCoded spends on x.
func codedCost(x int64, tb *table) int {
	if x == 0 {
		return 1
	}
	for i, n := range tb {
		if fits(x, n) {
			return i + 2 + int(n)
		}
	}
	return 70
}

// readCodedFast reads a value written by writeCoded when it is not an
// escape and its bits are buffered; ok is false otherwise, with nothing
// consumed, and readCoded must be used.
func (r *breader) readCodedFast(tb *table) (x int64, ok bool) {
	if r.n < 57 {
		r.refill()
	}
	k := uint(bits.LeadingZeros64(^r.buf))
	switch {
	case k == 0:
		if r.n == 0 {
			return 0, false
		}
		r.buf <<= 1
		r.n--
		return 0, true
	case k >= 5:
		return 0, false
	}
	n := uint(tb[k-1])
	total := k + 1 + n
	if total > r.n {
		return 0, false
	}
	u := r.buf << (k + 1)
	r.buf <<= total
	r.n -= total
	return int64(u) >> (64 - n), true
}

// readCoded reads a value written by writeCoded or writeEscapedFloat; for
// the latter, escaped is true and x holds the float's bits.
func readCoded(r *breader, tb *table) (x int64, escaped bool, err error) {
	k, err := r.leadingOnes(5)
	if err != nil {
		return 0, false, err
	}
	switch k {
	case 0:
		return 0, false, nil
	case 5:
		esc, err := r.readBit()
		if err != nil {
			return 0, false, err
		}
		u, err := r.readBits(64)
		return int64(u), esc, err
	}
	n := uint(tb[k-1])
	u, err := r.readBits(n)
	if err != nil {
		return 0, false, err
	}
	// Sign-extend the n-bit two's complement payload.
	return int64(u<<(64-n)) >> (64 - n), false, nil
}
