package chunkenc

import (
	"math/rand/v2"
	"testing"

	"github.com/prometheus/prometheus/model/histogram"

	"github.com/graftlabs/graft/pkg/storage"
)

// Samples appended without a counter reset hint read as not a reset
// exactly when no count fell below the previous sample's: checked against
// the absolute counts, over integer and float histograms whose counts
// mostly grow, sometimes fall, sometimes jump by more than the common
// codes hold.
func TestHistogramHintFromCounts(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for _, float := range []bool{false, true} {
		c := NewHistogramChunk(float)
		var want []*histogram.Histogram
		abs := make([]int64, 5) // 3 positive, 2 negative buckets
		count, zero := int64(10), int64(3)
		for i := range 200 {
			for k := range abs {
				abs[k] += step(r)
				abs[k] = max(abs[k], 0)
			}
			count, zero = max(count+step(r), 0), max(zero+step(r), 0)
			h := &histogram.Histogram{
				Count: uint64(count), ZeroCount: uint64(zero), Sum: float64(i), Schema: 0,
				PositiveSpans:   []histogram.Span{{Offset: 0, Length: 3}},
				NegativeSpans:   []histogram.Span{{Offset: 1, Length: 2}},
				PositiveBuckets: deltas(abs[:3]),
				NegativeBuckets: deltas(abs[3:]),
			}
			var err error
			if float {
				err = c.Append(int64(i), nil, h.ToFloat(nil))
			} else {
				err = c.Append(int64(i), h, nil)
			}
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, h)
		}
		it := c.Iterator(nil)
		for i := 0; it.Next() != storage.ValNone; i++ {
			_, fh := it.AtFloatHistogram(nil)
			if !fh.Equals(want[i].ToFloat(nil)) {
				t.Fatalf("float=%v sample %d: got %v, want %v", float, i, fh, want[i])
			}
			wantHint := histogram.UnknownCounterReset
			if i > 0 && !fell(want[i-1], want[i]) {
				wantHint = histogram.NotCounterReset
			}
			if fh.CounterResetHint != wantHint {
				t.Fatalf("float=%v sample %d: hint %v, want %v", float, i, fh.CounterResetHint, wantHint)
			}
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
	}
}

// step is a change of a count: mostly small growth, sometimes a fall, now
// and then a jump beyond the common codes.
func step(r *rand.Rand) int64 {
	switch x := r.IntN(20); {
	case x == 0:
		return -int64(r.IntN(50))
	case x == 1:
		return int64(r.IntN(1 << 40))
	default:
		return int64(r.IntN(30))
	}
}

func deltas(abs []int64) []int64 {
	out := make([]int64, len(abs))
	prev := int64(0)
	for i, a := range abs {
		out[i], prev = a-prev, a
	}
	return out
}

// fell says whether a count of b is below a's (same layout).
func fell(a, b *histogram.Histogram) bool {
	fa, fb := a.ToFloat(nil), b.ToFloat(nil)
	if fb.Count < fa.Count || fb.ZeroCount < fa.ZeroCount {
		return true
	}
	for i := range fa.PositiveBuckets {
		if fb.PositiveBuckets[i] < fa.PositiveBuckets[i] {
			return true
		}
	}
	for i := range fa.NegativeBuckets {
		if fb.NegativeBuckets[i] < fa.NegativeBuckets[i] {
			return true
		}
	}
	return false
}

// BenchmarkHistogramDecode reads a chunk of 120 integer histograms of 20
// buckets as float histograms, as PromQL does.
func BenchmarkHistogramDecode(b *testing.B) {
	c := NewHistogramChunk(false)
	abs := make([]int64, 20)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 120 {
		for k := range abs {
			abs[k] += int64(r.IntN(30))
		}
		h := &histogram.Histogram{
			Count: uint64(i * 300), Sum: float64(i) * 1.5, Schema: 1,
			PositiveSpans:   []histogram.Span{{Offset: 0, Length: 12}},
			NegativeSpans:   []histogram.Span{{Offset: 0, Length: 8}},
			PositiveBuckets: deltas(abs[:12]),
			NegativeBuckets: deltas(abs[12:]),
		}
		if err := c.Append(int64(i)*15000, h, nil); err != nil {
			b.Fatal(err)
		}
	}
	var it storage.Iterator
	fh := &histogram.FloatHistogram{}
	for b.Loop() {
		it = c.Iterator(it)
		for it.Next() != storage.ValNone {
			it.AtFloatHistogram(fh)
		}
	}
}
