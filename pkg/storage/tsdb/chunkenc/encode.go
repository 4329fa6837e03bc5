package chunkenc

import (
	"encoding/binary"
	"fmt"
	"math"
)

// EncodeFloats codes a sealed run of samples (timestamps strictly
// increasing, at most 65535) with the smallest of the codings a float chunk
// has: integer or decimal with delta-of-delta or delta and each value table,
// or XOR. The head appends with one fixed table; compaction calls this.
func EncodeFloats(ts []int64, vs []float64) ([]byte, error) {
	if len(ts) != len(vs) || len(ts) > math.MaxUint16 {
		return nil, fmt.Errorf("encode %d timestamps and %d values", len(ts), len(vs))
	}
	mode, ok := bestIntMode(vs)
	xor := encodeWith(ts, vs, modeXOR)
	if !ok {
		return xor, nil
	}
	if in := encodeWith(ts, vs, mode); len(in) < len(xor) {
		return in, nil
	}
	return xor, nil
}

func encodeWith(ts []int64, vs []float64, mode uint8) []byte {
	c := &FloatChunk{}
	c.reset(mode)
	c.w.b = make([]byte, floatHeader, floatHeader+len(ts)*2)
	c.w.b[2] = mode
	for i := range ts {
		c.write(i, ts[i], vs[i])
	}
	return c.w.b
}

// bestIntMode finds the scale that holds every value and the delta coding
// and table that spend the fewest bits on them.
func bestIntMode(vs []float64) (uint8, bool) {
	var k uint8
	for _, v := range vs {
		if special(v) {
			continue
		}
		if _, ok := scaled(v, k); ok {
			continue
		}
		nk, ok := minScale(v, k+1)
		if !ok {
			return 0, false
		}
		k = nk
	}
	ms := make([]int64, 0, len(vs))
	for _, v := range vs {
		if m, ok := scaled(v, k); ok {
			ms = append(ms, m)
		}
	}
	// cost[delta][table]
	var cost [2][len(valueTables)]int
	var m, dm int64
	for i, x := range ms {
		if i == 0 {
			m = x
			continue
		}
		d := x - m
		for t := range valueTables {
			cost[0][t] += codedCost(d-dm, &valueTables[t])
			cost[1][t] += codedCost(d, &valueTables[t])
		}
		m, dm = x, d
	}
	best, bestCost := uint8(0), math.MaxInt
	for delta := range 2 {
		for t := range valueTables {
			if cost[delta][t] < bestCost {
				bestCost = cost[delta][t]
				best = uint8(t) << modeTableShft
				if delta == 1 {
					best |= modeDelta
				}
			}
		}
	}
	return best | k, true
}

// floatCount reads the sample count of float chunk bytes.
func floatCount(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	return int(binary.BigEndian.Uint16(b))
}
