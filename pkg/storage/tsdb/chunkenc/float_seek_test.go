package chunkenc

import (
	"math"
	"sort"
	"testing"

	"github.com/graftlabs/graft/pkg/storage"
)

// Seeking a view to any time, at any sample count, reads what decoding
// from the chunk's start reads, in every shape of values (mode changes
// after seek points were recorded included), while appends go on (run
// with -race: appends record later points beside readers of earlier ones).
func TestFloatViewSeekMatchesDecoding(t *testing.T) {
	cases := map[string][]pair{"huge_time_gaps": hugeGaps(130)}
	for shape := range shapes {
		cases[shape] = genSamples(11, shape, 130)
	}
	for name, samples := range cases {
		t.Run(name, func(t *testing.T) {
			var it storage.Iterator
			readViewsWhileAppending(samples, func(v RawChunk) bool {
				have := samples[:v.NumSamples()]
				for _, target := range seekTargets(have) {
					it = v.Iterator(it)
					checkSeek(t, it, target, have)
				}
				return true
			})
		})
	}
}

// hugeGaps has time deltas too large for a seek point every few samples.
func hugeGaps(n int) []pair {
	out := make([]pair, n)
	t := int64(0)
	for i := range out {
		t += 15000
		if i%40 == 30 {
			t += 1 << 33
		}
		out[i] = pair{t, float64(i * 3)}
	}
	return out
}

// seekTargets are every sample's time, the times just around it, and
// times before and after them all.
func seekTargets(s []pair) []int64 {
	out := []int64{math.MinInt64, s[0].t - 1, s[len(s)-1].t + 1, math.MaxInt64}
	for _, p := range s {
		out = append(out, p.t-1, p.t, p.t+1)
	}
	return out
}

// checkSeek wants SeekTo(target) on a fresh iterator, then Next, to read
// the samples of have at or after target.
func checkSeek(t *testing.T, it storage.Iterator, target int64, have []pair) {
	t.Helper()
	i := sort.Search(len(have), func(k int) bool { return have[k].t >= target })
	want := have[i:]
	var got []pair
	for vt := it.SeekTo(target); vt == storage.ValFloat; vt = it.Next() {
		ts, v := it.At()
		got = append(got, pair{ts, v})
	}
	if err := it.Err(); err != nil {
		t.Fatalf("seek to %d of %d samples: %v", target, len(have), err)
	}
	if len(got) != len(want) {
		t.Fatalf("seek to %d of %d samples: got %d samples, want %d", target, len(have), len(got), len(want))
	}
	checkSame(t, want, got)
}

// A seek into the newest samples of a full open chunk starts at the last
// seek point instead of the chunk's start.
func TestFloatViewSeekSkipsDecoding(t *testing.T) {
	samples := genSamples(3, "int_counter", 120)
	c := NewFloatChunk()
	for _, s := range samples {
		c.Append(s.t, s.v)
	}
	it := c.View().Iterator(nil).(*FloatIterator)
	it.seekFrom(samples[110].t)
	if it.d != seekCount*seekStride {
		t.Fatalf("seek started at sample %d, want %d", it.d, seekCount*seekStride)
	}
	checkSeek(t, c.View().Iterator(it), samples[110].t, samples)
}

// Decimal chunks of a large scale take steps beyond 32 bits; their seek
// points hold them.
func TestFloatViewSeekLargeScale(t *testing.T) {
	c := NewFloatChunk()
	var samples []pair
	for i := range 120 {
		p := pair{int64(i) * 10000, float64(1000+i) + 1.0/111}
		samples = append(samples, p)
		c.Append(p.t, p.v)
	}
	if c.mode()&modeXOR != 0 || c.viewSeeks() == nil || c.seeks[seekCount-1].pos == 0 {
		t.Fatalf("mode %#x: want a decimal chunk with every seek point", c.mode())
	}
	for _, target := range seekTargets(samples) {
		checkSeek(t, c.View().Iterator(nil), target, samples)
	}
}

// BenchmarkFloatSeekNewest seeks to the last minute of a nearly full chunk
// (a one-minute rate at the newest step), through a view of the open chunk
// (seek points) and through its sealed bytes (decoding from the start).
func BenchmarkFloatSeekNewest(b *testing.B) {
	samples := genSamples(5, "cpu_seconds", 119)
	c := NewFloatChunk()
	for _, s := range samples {
		c.Append(s.t, s.v)
	}
	target := samples[113].t
	for _, bc := range []struct {
		name  string
		chunk RawChunk
	}{
		{"view", c.View()},
		{"sealed", RawChunk{Enc: EncFloat, Data: c.Bytes()}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var it storage.Iterator
			for b.Loop() {
				it = bc.chunk.Iterator(it)
				for vt := it.SeekTo(target); vt != storage.ValNone; vt = it.Next() {
				}
			}
		})
	}
}

// A chunk rewritten (a mode change) after recording seek points records
// no more and hands its later views none; earlier views keep theirs.
func TestFloatSeekPointsAfterModeChange(t *testing.T) {
	c := NewFloatChunk()
	for i := range seekStride + 1 {
		c.Append(int64(i), float64(i))
	}
	before := c.View()
	c.Append(seekStride+1, 0.5) // integers to decimals: rewritten
	if before.seeks == nil || c.View().seeks != nil {
		t.Fatalf("views before and after the mode change: points %v, %v", before.seeks != nil, c.View().seeks != nil)
	}
	for i := seekStride + 2; i < 3*seekStride; i++ {
		c.Append(int64(i), float64(i)+0.5)
	}
	if c.View().seeks != nil {
		t.Fatal("a rewritten chunk took seek points again")
	}
	checkSeek(t, before.Iterator(nil), seekStride, []pair{{seekStride, seekStride}})
}
