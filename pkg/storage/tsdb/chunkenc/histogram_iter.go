package chunkenc

import (
	"encoding/binary"
	"fmt"
	"math/bits"
)

// addIntDeltas adds the coded deltas of an integer histogram's fields
// (count, zero count, then the delta-coded buckets, positive then
// negative) to the previous sample's, and notes whether a count fell. A
// histogram sample is mostly these fields: the reader is held in locals
// and the common codes read inline (as FloatIterator.intRun does), the
// rest left to readCoded.
//
// A bucket's absolute count is the running sum of its span's fields, so
// it fell where the running sum of the fields' deltas goes below zero.
func (it *HistogramIterator) addIntDeltas() error {
	r, tb := &it.r, &valueTables[0]
	b, bi, buf, nb := r.b, r.i, r.buf, r.n
	var run int64
	fell := false
	for i := range it.ints {
		if nb <= 56 { // refillLocal, inlined by hand
			if bi+8 <= len(b) {
				k := (64 - nb) >> 3
				buf |= binary.BigEndian.Uint64(b[bi:]) >> nb
				bi, nb = bi+int(k), nb+k<<3
			} else if bi < len(b) || r.hasTail {
				bi, buf, nb = r.refillSlow(bi, buf, nb)
			}
		}
		var d int64
		k := uint(bits.LeadingZeros64(^buf))
		if w := uint(tb[(k-1)&3]); k == 0 && nb > 0 {
			buf, nb = buf<<1, nb-1
		} else if k > 0 && k < 5 && k+1+w <= nb {
			d = int64(buf<<(k+1)) >> (64 - w)
			buf, nb = buf<<(k+1+w), nb-(k+1+w)
		} else {
			r.i, r.buf, r.n = bi, buf, nb
			x, esc, err := readCoded(r, tb)
			if err != nil {
				return err
			}
			if esc {
				return fmt.Errorf("escaped histogram field")
			}
			d, bi, buf, nb = x, r.i, r.buf, r.n
		}
		it.ints[i] += d
		switch {
		case i < 2:
			fell = fell || d < 0
		default:
			if i == 2+it.npos { // the negative buckets start again
				run = 0
			}
			run += d
			fell = fell || run < 0
		}
	}
	r.i, r.buf, r.n = bi, buf, nb
	it.fell = it.fell || fell
	return nil
}
