package chunkenc

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/value"

	"github.com/graftlabs/graft/pkg/storage"
)

type pair struct {
	t int64
	v float64
}

func sameFloat(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }

func readAll(t *testing.T, it storage.Iterator) []pair {
	t.Helper()
	var out []pair
	for it.Next() == storage.ValFloat {
		ts, v := it.At()
		out = append(out, pair{ts, v})
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func checkSame(t *testing.T, want, got []pair) {
	t.Helper()
	if len(want) != len(got) {
		t.Fatalf("got %d samples, want %d", len(got), len(want))
	}
	for i := range want {
		if want[i].t != got[i].t || !sameFloat(want[i].v, got[i].v) {
			t.Fatalf("sample %d: got %v, want %v", i, got[i], want[i])
		}
	}
}

// series generators shaped like what exporters expose.
var shapes = map[string]func(r *rand.Rand, i int, prev float64) float64{
	"constant":      func(*rand.Rand, int, float64) float64 { return 1 },
	"int_counter":   func(r *rand.Rand, _ int, p float64) float64 { return p + float64(r.IntN(5000)) },
	"cpu_seconds":   func(r *rand.Rand, _ int, p float64) float64 { return math.Round((p+14.9+r.Float64()/10)*100) / 100 },
	"decimal_gauge": func(r *rand.Rand, _ int, _ float64) float64 { return float64(r.IntN(400)) / 100 },
	"random_float":  func(r *rand.Rand, _ int, _ float64) float64 { return r.NormFloat64() * 1e3 },
	"specials": func(r *rand.Rand, i int, p float64) float64 {
		switch i % 7 {
		case 3:
			return math.Float64frombits(value.StaleNaN)
		case 5:
			return math.Inf(-1)
		case 6:
			return math.Copysign(0, -1)
		}
		return p + 1
	},
	"int_then_decimal": func(r *rand.Rand, i int, p float64) float64 {
		if i < 60 {
			return float64(i)
		}
		return float64(i) + 0.125
	},
	"growing_scale": func(r *rand.Rand, i int, _ float64) float64 { return 1 + float64(i%17)/math.Pow(10, float64(i%9)) },
	"huge_ints":     func(r *rand.Rand, i int, _ float64) float64 { return float64(int64(1)<<60 + int64(i)*4096) },
}

func genSamples(seed uint64, shape string, n int) []pair {
	r := rand.New(rand.NewPCG(seed, 1))
	gen := shapes[shape]
	out := make([]pair, n)
	t := int64(1_700_000_000_000)
	v := 0.0
	for i := range out {
		t += 15000 + int64(r.IntN(11)) - 5
		v = gen(r, i, v)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			out[i] = pair{t, v}
			v = float64(i)
			continue
		}
		out[i] = pair{t, v}
	}
	return out
}

func TestFloatChunkRoundTrip(t *testing.T) {
	for shape := range shapes {
		t.Run(shape, func(t *testing.T) {
			want := genSamples(7, shape, 240)
			c := NewFloatChunk()
			for _, p := range want {
				c.Append(p.t, p.v)
			}
			checkSame(t, want, readAll(t, c.Iterator(nil)))

			ts, vs := make([]int64, len(want)), make([]float64, len(want))
			for i, p := range want {
				ts[i], vs[i] = p.t, p.v
			}
			sealed, err := EncodeFloats(ts, vs)
			if err != nil {
				t.Fatal(err)
			}
			checkSame(t, want, readAll(t, NewFloatIterator(sealed, nil)))
			if len(sealed) > len(c.Bytes()) {
				t.Errorf("sealed encoding %d bytes, head encoding %d", len(sealed), len(c.Bytes()))
			}
			xor := encodeWith(ts, vs, modeXOR)
			if len(sealed) > len(xor) {
				t.Errorf("sealed %d bytes > XOR %d", len(sealed), len(xor))
			}
			t.Logf("%s: %.2f bytes/sample (XOR %.2f), mode %#x", shape,
				float64(len(sealed))/float64(len(want)), float64(len(xor))/float64(len(want)), sealed[2])

			// Reopening for append continues the same stream.
			half := len(want) / 2
			c2 := NewFloatChunk()
			for _, p := range want[:half] {
				c2.Append(p.t, p.v)
			}
			re, err := FloatChunkFromBytes(append([]byte(nil), c2.Bytes()...))
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range want[half:] {
				re.Append(p.t, p.v)
			}
			checkSame(t, want, readAll(t, re.Iterator(nil)))
		})
	}
}

func TestDecimalBeatsXOR(t *testing.T) {
	want := genSamples(3, "cpu_seconds", 120)
	ts, vs := make([]int64, len(want)), make([]float64, len(want))
	for i, p := range want {
		ts[i], vs[i] = p.t, p.v
	}
	sealed, _ := EncodeFloats(ts, vs)
	xor := encodeWith(ts, vs, modeXOR)
	if sealed[2]&modeXOR != 0 || len(sealed)*2 > len(xor) {
		t.Fatalf("decimal counter: %d bytes (mode %#x), XOR %d: want less than half", len(sealed), sealed[2], len(xor))
	}
}

func TestFloatSeek(t *testing.T) {
	want := genSamples(1, "int_counter", 100)
	c := NewFloatChunk()
	for _, p := range want {
		c.Append(p.t, p.v)
	}
	it := c.Iterator(nil)
	if it.SeekTo(want[50].t) != storage.ValFloat || it.AtT() != want[50].t {
		t.Fatalf("seek to sample 50 landed at %d", it.AtT())
	}
	if it.SeekTo(want[10].t) != storage.ValFloat || it.AtT() != want[50].t {
		t.Fatal("seek moved backwards")
	}
	if it.SeekTo(want[50].t+1) != storage.ValFloat || it.AtT() != want[51].t {
		t.Fatal("seek between samples")
	}
	if it.SeekTo(want[99].t+1) != storage.ValNone {
		t.Fatal("seek past the end")
	}
}

func testHistogram(i int) *histogram.Histogram {
	return &histogram.Histogram{
		CounterResetHint: histogram.NotCounterReset,
		Schema:           1, ZeroThreshold: 0.001, ZeroCount: uint64(i), Count: uint64(10 * i), Sum: float64(i) * 3.7,
		PositiveSpans:   []histogram.Span{{Offset: 0, Length: 2}, {Offset: 3, Length: 1}},
		PositiveBuckets: []int64{int64(i), 1, -1},
		NegativeSpans:   []histogram.Span{{Offset: 1, Length: 1}},
		NegativeBuckets: []int64{int64(2 * i)},
	}
}

func TestHistogramChunk(t *testing.T) {
	c := NewHistogramChunk(false)
	for i := range 50 {
		if err := c.Append(int64(i)*15000, testHistogram(i), nil); err != nil {
			t.Fatal(err)
		}
	}
	other := testHistogram(1)
	other.PositiveSpans = []histogram.Span{{Offset: 0, Length: 3}}
	other.PositiveBuckets = []int64{1, 1, 1}
	if err := c.Append(50*15000, other, nil); err != ErrLayoutChanged {
		t.Fatalf("layout change: %v", err)
	}
	check := func(b []byte) {
		it := NewHistogramIterator(b, nil)
		var h *histogram.Histogram
		for i := range 50 {
			if vt := it.Next(); vt != storage.ValHistogram {
				t.Fatalf("sample %d: %v %v", i, vt, it.Err())
			}
			var ts int64
			ts, h = it.AtHistogram(h)
			if ts != int64(i)*15000 || !h.Equals(testHistogram(i)) || h.CounterResetHint != histogram.NotCounterReset {
				t.Fatalf("sample %d: %d %v", i, ts, h)
			}
			if _, fh := it.AtFloatHistogram(nil); !fh.Equals(testHistogram(i).ToFloat(nil)) {
				t.Fatalf("sample %d as float: %v", i, fh)
			}
		}
		if it.Next() != storage.ValNone || it.Err() != nil {
			t.Fatal("extra samples", it.Err())
		}
	}
	check(c.Bytes())
	re, err := HistogramChunkFromBytes(c.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	check(re.Bytes())

	fc := NewHistogramChunk(true)
	for i := range 20 {
		fh := testHistogram(i).ToFloat(nil)
		fh.Sum = math.Pi * float64(i)
		fh.CounterResetHint = histogram.GaugeType
		if err := fc.Append(int64(i), nil, fh); err != nil {
			t.Fatal(err)
		}
	}
	it := fc.Iterator(nil)
	for i := range 20 {
		if it.Next() != storage.ValFloatHistogram {
			t.Fatal(it.Err())
		}
		want := testHistogram(i).ToFloat(nil)
		want.Sum = math.Pi * float64(i)
		if _, fh := it.AtFloatHistogram(nil); !fh.Equals(want) || fh.CounterResetHint != histogram.GaugeType {
			t.Fatalf("float histogram %d: %v", i, fh)
		}
	}
}

func BenchmarkFloatDecode(b *testing.B) {
	want := genSamples(3, "int_counter", 120)
	c := NewFloatChunk()
	for _, p := range want {
		c.Append(p.t, p.v)
	}
	var it storage.Iterator
	b.ResetTimer()
	for range b.N {
		it = c.Iterator(it)
		for it.Next() != storage.ValNone {
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*120), "ns/sample")
}

func BenchmarkFloatAppend(b *testing.B) {
	want := genSamples(3, "cpu_seconds", 120)
	b.ResetTimer()
	for range b.N {
		c := NewFloatChunk()
		for _, p := range want {
			c.Append(p.t, p.v)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*120), "ns/sample")
}

// Bits written in random widths read back the same, across the bulk and
// byte-at-a-time paths of the reader.
func TestBitStreamRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 9))
	for range 200 {
		var w bwriter
		type item struct {
			v uint64
			n int
		}
		var items []item
		for range rng.IntN(300) {
			n := rng.IntN(65)
			v := rng.Uint64()
			if n < 64 {
				v &= 1<<uint(n) - 1
			}
			items = append(items, item{v, n})
			w.writeBits(v, n)
		}
		r := newBReader(w.b)
		for i, it := range items {
			got, err := r.readBits(uint(it.n))
			if err != nil || got != it.v {
				t.Fatalf("item %d (%d bits): %x, %v; want %x", i, it.n, got, err, it.v)
			}
		}
		// Coded values through both readers.
		var cw bwriter
		var xs []int64
		for range 100 {
			x := int64(rng.Uint64()) >> uint(rng.IntN(64))
			xs = append(xs, x)
			writeCoded(&cw, x, &valueTables[rng.IntN(len(valueTables))&0])
		}
		r = newBReader(cw.b)
		for i, x := range xs {
			got, ok := r.readCodedFast(&valueTables[0])
			if !ok {
				var esc bool
				var err error
				got, esc, err = readCoded(&r, &valueTables[0])
				if err != nil || esc {
					t.Fatalf("coded %d: %v %v", i, err, esc)
				}
			}
			if got != x {
				t.Fatalf("coded %d: %d, want %d", i, got, x)
			}
		}
	}
}

// Decoding goes a batch at a time: every length around the batch size and
// every seek target must give what was appended.
func TestFloatBatchesAndSeeks(t *testing.T) {
	for shape := range shapes {
		for _, n := range []int{1, 2, 3, floatBatch - 1, floatBatch, floatBatch + 1, 2*floatBatch + 5, 700} {
			want := genSamples(uint64(n), shape, n)
			c := NewFloatChunk()
			for _, p := range want {
				c.Append(p.t, p.v)
			}
			checkSame(t, want, readAll(t, c.Iterator(nil)))
			var it storage.Iterator
			for i := 0; i < n; i += 1 + i/7 {
				it = c.Iterator(it)
				// Seek to the sample, then between it and the next, then on.
				if it.SeekTo(want[i].t) != storage.ValFloat || it.AtT() != want[i].t {
					t.Fatalf("%s/%d: seek to sample %d landed at %d", shape, n, i, it.AtT())
				}
				if _, v := it.At(); !sameFloat(v, want[i].v) {
					t.Fatalf("%s/%d: sample %d value %v, want %v", shape, n, i, v, want[i].v)
				}
				vt := it.SeekTo(want[i].t + 1)
				if i+1 == n {
					if vt != storage.ValNone {
						t.Fatalf("%s/%d: seek past the end", shape, n)
					}
					continue
				}
				if vt != storage.ValFloat || it.AtT() != want[i+1].t {
					t.Fatalf("%s/%d: seek after sample %d landed at %d", shape, n, i, it.AtT())
				}
				checkSame(t, want[i+2:], readAll(t, it))
			}
		}
	}
}
