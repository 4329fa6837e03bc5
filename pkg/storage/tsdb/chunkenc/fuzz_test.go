package chunkenc

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/prometheus/prometheus/model/histogram"

	"github.com/graftlabs/graft/pkg/storage"
)

// FuzzFloatDecode feeds arbitrary bytes to the float decoder: it must return
// an error or samples, never panic or loop.
func FuzzFloatDecode(f *testing.F) {
	for _, shape := range []string{"int_counter", "cpu_seconds", "random_float", "specials"} {
		ps := genSamples(5, shape, 30)
		c := NewFloatChunk()
		for _, p := range ps {
			c.Append(p.t, p.v)
		}
		f.Add(c.Bytes())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		it := NewFloatIterator(b, nil)
		n := 0
		for it.Next() != storage.ValNone {
			n++
		}
		if n > floatCount(b) {
			t.Fatalf("%d samples from a chunk of %d", n, floatCount(b))
		}
		_, _ = FloatChunkFromBytes(b)
	})
}

// FuzzHistogramDecode does the same for histogram chunks.
func FuzzHistogramDecode(f *testing.F) {
	c := NewHistogramChunk(false)
	for i := range 5 {
		_ = c.Append(int64(i), testHistogram(i), nil)
	}
	f.Add(c.Bytes())
	fc := NewHistogramChunk(true)
	for i := range 5 {
		_ = fc.Append(int64(i), nil, testHistogram(i).ToFloat(nil))
	}
	f.Add(fc.Bytes())
	// Counts that fall and jump past the common codes (addIntDeltas's
	// fallback to readCoded).
	jumps := NewHistogramChunk(false)
	for i, d := range []int64{0, 5, -3, 1 << 40, 2} {
		h := testHistogram(i)
		h.CounterResetHint = histogram.UnknownCounterReset
		h.PositiveBuckets[1] += d
		_ = jumps.Append(int64(i), h, nil)
	}
	f.Add(jumps.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		it := NewHistogramIterator(b, nil)
		for vt := it.Next(); vt != storage.ValNone; vt = it.Next() {
			it.AtHistogram(nil)
			it.AtFloatHistogram(nil)
		}
	})
}

// FuzzFloatRoundTrip encodes arbitrary values (as raw bits, so NaNs and odd
// decimals come up) both ways and wants them back bit for bit.
func FuzzFloatRoundTrip(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x9a, 0x99, 0x99, 0x99, 0x99, 0x99, 0xb9, 0x3f}, int64(1000), uint16(15000))
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0xf8, 0x7f}, int64(-5), uint16(1))
	f.Fuzz(func(t *testing.T, raw []byte, t0 int64, step uint16) {
		if step == 0 || t0 > math.MaxInt64/2 || t0 < math.MinInt64/2 {
			return
		}
		var ts []int64
		var vs []float64
		for i := 0; i+8 <= len(raw) && i < 8*500; i += 8 {
			ts = append(ts, t0+int64(i/8)*int64(step)+int64(raw[i]%3))
			vs = append(vs, math.Float64frombits(binary.LittleEndian.Uint64(raw[i:])))
		}
		c := NewFloatChunk()
		for i := range ts {
			c.Append(ts[i], vs[i])
		}
		sealed, err := EncodeFloats(ts, vs)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range [][]byte{c.Bytes(), sealed} {
			it := NewFloatIterator(b, nil)
			for i := range ts {
				if it.Next() != storage.ValFloat {
					t.Fatalf("sample %d missing: %v", i, it.Err())
				}
				tt, v := it.At()
				if tt != ts[i] || math.Float64bits(v) != math.Float64bits(vs[i]) {
					t.Fatalf("sample %d: got %d %v, want %d %v", i, tt, v, ts[i], vs[i])
				}
			}
			if it.Next() != storage.ValNone {
				t.Fatal("extra sample")
			}
		}
	})
}
