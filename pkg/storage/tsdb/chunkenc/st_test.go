package chunkenc

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/graftlabs/graft/pkg/storage"
)

// stPatterns are start timestamps of samples at ts, as sources send them.
var stPatterns = map[string]func(ts []int64) []int64{
	"unknown": func(ts []int64) []int64 { return make([]int64, len(ts)) },
	"cumulative": func(ts []int64) []int64 {
		return fill(ts, func(i int) int64 { return 1_600_000_000_000 })
	},
	"cumulative_resets": func(ts []int64) []int64 {
		st := int64(0)
		return fill(ts, func(i int) int64 {
			if i%37 == 5 {
				st = ts[i] - 7
			}
			return st
		})
	},
	"delta_prev_t": func(ts []int64) []int64 {
		return fill(ts, func(i int) int64 {
			if i == 0 {
				return ts[0] - 15000
			}
			return ts[i-1]
		})
	},
	"t_minus_1ms": func(ts []int64) []int64 { return fill(ts, func(i int) int64 { return ts[i] - 1 }) },
	"st_equals_t": func(ts []int64) []int64 { return fill(ts, func(i int) int64 { return ts[i] }) },
	"late_first": func(ts []int64) []int64 {
		return fill(ts, func(i int) int64 {
			if i < 50 {
				return 0
			}
			return 1000
		})
	},
	"random": func(ts []int64) []int64 {
		r := rand.New(rand.NewPCG(7, 8))
		return fill(ts, func(i int) int64 {
			switch r.IntN(6) {
			case 0:
				return 0
			case 1:
				return math.MinInt64 + r.Int64N(10)
			case 2:
				return math.MaxInt64 - r.Int64N(10)
			}
			return ts[i] - r.Int64N(1e9) + 5e8
		})
	},
}

func fill(ts []int64, f func(i int) int64) []int64 {
	out := make([]int64, len(ts))
	for i := range ts {
		out[i] = f(i)
	}
	return out
}

// readST reads every sample's time, value and start timestamp.
func readST(t *testing.T, it storage.Iterator) (ts, sts []int64, vs []float64) {
	t.Helper()
	sti, ok := it.(storage.StartTimestampIterator)
	if !ok {
		t.Fatalf("%T has no start timestamps", it)
	}
	for it.Next() != storage.ValNone {
		tt, v := it.At()
		ts, vs, sts = append(ts, tt), append(vs, v), append(sts, sti.AtST())
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return ts, sts, vs
}

func TestSTColumnRoundTrip(t *testing.T) {
	ps := genSamples(3, "int_counter", 300)
	ts, vs := make([]int64, len(ps)), make([]float64, len(ps))
	for i, p := range ps {
		ts[i], vs[i] = p.t, p.v
	}
	values, err := EncodeFloats(ts, vs)
	if err != nil {
		t.Fatal(err)
	}
	for name, pattern := range stPatterns {
		t.Run(name, func(t *testing.T) {
			sts := pattern(ts)
			col := EncodeST(ts, sts)
			if name == "unknown" {
				if col != nil {
					t.Fatalf("column of %d bytes for unknown start timestamps", len(col))
				}
				return
			}
			// Incremental, as the head appends, against the batch coding.
			inc := newSTColumn(0, 0)
			for i := range ts {
				inc.Append(ts[i], sts[i])
			}
			for _, c := range [][]byte{col, inc.Bytes()} {
				raw := WithST(EncFloat, values, c)
				if raw.NumSamples() != len(ts) || !raw.Enc.HasST() || raw.Enc.Base() != EncFloat {
					t.Fatalf("chunk %s of %d samples", raw.Enc, raw.NumSamples())
				}
				gotT, gotST, gotV := readST(t, raw.Iterator(nil))
				if len(gotT) != len(ts) {
					t.Fatalf("%d samples, want %d", len(gotT), len(ts))
				}
				for i := range ts {
					if gotT[i] != ts[i] || gotST[i] != sts[i] || !sameFloat(gotV[i], vs[i]) {
						t.Fatalf("sample %d: t %d st %d v %v, want %d %d %v", i, gotT[i], gotST[i], gotV[i], ts[i], sts[i], vs[i])
					}
				}
			}
			if len(col) > len(inc.Bytes()) {
				t.Errorf("batch column %d bytes, incremental %d", len(col), len(inc.Bytes()))
			}
		})
	}
}

// TestSTColumnSize checks that the usual patterns cost a few bytes per chunk.
func TestSTColumnSize(t *testing.T) {
	ts := make([]int64, 120)
	for i := range ts {
		ts[i] = int64(i)*15000 + int64(i%3)
	}
	for _, name := range []string{"cumulative", "delta_prev_t", "t_minus_1ms", "st_equals_t"} {
		if n := len(EncodeST(ts, stPatterns[name](ts))); n > 8 {
			t.Errorf("%s: %d bytes for 120 samples", name, n)
		}
	}
	if n := len(EncodeST(ts, stPatterns["cumulative_resets"](ts))); n > 40 {
		t.Errorf("cumulative with resets: %d bytes for 120 samples", n)
	}
}

func TestSTSeekAndReuse(t *testing.T) {
	ps := genSamples(4, "cpu_seconds", 100)
	ts, vs := make([]int64, len(ps)), make([]float64, len(ps))
	for i, p := range ps {
		ts[i], vs[i] = p.t, p.v
	}
	values, _ := EncodeFloats(ts, vs)
	sts := stPatterns["cumulative_resets"](ts)
	raw := WithST(EncFloat, values, EncodeST(ts, sts))
	it := raw.Iterator(nil)
	if vt := it.SeekTo(ts[40]); vt != storage.ValFloat || it.AtT() != ts[40] || it.(storage.StartTimestampIterator).AtST() != sts[40] {
		t.Fatalf("seek: %v at %d", vt, it.AtT())
	}
	if vt := it.SeekTo(ts[10]); vt != storage.ValFloat || it.AtT() != ts[40] {
		t.Fatal("seek moved backwards")
	}
	if vt := it.Next(); vt != storage.ValFloat || it.(storage.StartTimestampIterator).AtST() != sts[41] {
		t.Fatal("next after seek")
	}
	if it.SeekTo(ts[99]+1) != storage.ValNone || it.Err() != nil {
		t.Fatal("seek past the end")
	}
	// Reused for a chunk without start timestamps, and back.
	plain := RawChunk{Enc: EncFloat, Data: values}
	it2 := plain.Iterator(it)
	if _, ok := it2.(*FloatIterator); !ok {
		t.Fatalf("plain chunk read by %T", it2)
	}
	it3 := raw.Iterator(it)
	if it3 != it {
		t.Error("iterator not reused")
	}
	if gotT, _, _ := readST(t, it3); len(gotT) != len(ts) {
		t.Fatalf("reused iterator read %d samples", len(gotT))
	}
}

func TestSTChunkHistograms(t *testing.T) {
	c := OpenChunk(NewHistogramChunk(false))
	var wantST []int64
	for i := range 30 {
		if err := ValuesOf(c).(*HistogramChunk).Append(int64(i)*1000, testHistogram(i), nil); err != nil {
			t.Fatal(err)
		}
		st := int64(0)
		if i >= 10 {
			st = int64(i-1) * 1000 // deltas from sample 10 on
		}
		if sc, ok := c.(*STChunk); ok || st != 0 {
			if !ok {
				sc = NewSTChunk(c, int64(i-1)*1000)
				c = sc
			}
			sc.AppendST(int64(i)*1000, st)
		}
		wantST = append(wantST, st)
	}
	check := func(name string, raw RawChunk) {
		t.Helper()
		it := raw.Iterator(nil)
		i := 0
		for vt := it.Next(); vt != storage.ValNone; vt = it.Next() {
			ts, h := it.AtHistogram(nil)
			if vt != storage.ValHistogram || ts != int64(i)*1000 || h.Count != testHistogram(i).Count {
				t.Fatalf("%s: sample %d: %v %d %v", name, i, vt, ts, h)
			}
			if st := it.(storage.StartTimestampIterator).AtST(); st != wantST[i] {
				t.Fatalf("%s: sample %d: st %d, want %d", name, i, st, wantST[i])
			}
			i++
		}
		if it.Err() != nil || i != 30 {
			t.Fatalf("%s: %d samples, %v", name, i, it.Err())
		}
	}
	check("view", c.View())
	sealed := RawChunk{Enc: c.Encoding(), Data: c.Bytes()}
	check("sealed", sealed)
	if sealed.Enc != EncHistogram|EncST || Validate(sealed.Enc) != nil || sealed.Enc.String() != "histogram+st" {
		t.Fatalf("encoding %s", sealed.Enc)
	}
	re, err := Reopen(sealed)
	if err != nil {
		t.Fatal(err)
	}
	check("reopened", re.View())
	if err := ValuesOf(re).(*HistogramChunk).Append(30000, testHistogram(30), nil); err != nil {
		t.Fatal(err)
	}
	re.(*STChunk).AppendST(30000, 29000)
	wantST = append(wantST, 29000)
	if re.NumSamples() != 31 {
		t.Fatalf("%d samples after reopening", re.NumSamples())
	}
	it := re.Iterator(nil)
	if it.SeekTo(30000) == storage.ValNone || it.(storage.StartTimestampIterator).AtST() != 29000 {
		t.Fatal("appended start timestamp lost")
	}
}

func TestSTCorrupt(t *testing.T) {
	values, _ := EncodeFloats([]int64{1, 2, 3}, []float64{1, 2, 3})
	for name, b := range map[string][]byte{
		"no length":      nil,
		"long length":    {200, 1},
		"empty column":   append([]byte{byte(len(values))}, values...),
		"unknown format": append(append([]byte{byte(len(values))}, values...), 9),
		"short column":   append(append([]byte{byte(len(values))}, values...), stGeneral, 0xff),
	} {
		it := NewIterator(EncFloat|EncST, b, nil)
		for it.Next() != storage.ValNone {
		}
		if it.Err() == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if Validate(EncAggr|EncST) == nil || Validate(EncNone|EncST) == nil {
		t.Error("invalid encodings accepted")
	}
}

// FuzzSTDecode feeds arbitrary columns to the reader: errors, not panics.
func FuzzSTDecode(f *testing.F) {
	ts := []int64{1000, 2000, 3000, 4000}
	f.Add(EncodeST(ts, []int64{0, 5, 5, 3000}))
	f.Add(EncodeST(ts, []int64{999, 1000, 2000, 3000}))
	values, _ := EncodeFloats(ts, []float64{1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, col []byte) {
		raw := WithST(EncFloat, values, append([]byte{stGeneral}, col...))
		it := raw.Iterator(nil)
		for it.Next() != storage.ValNone {
		}
		raw = WithST(EncFloat, values, col)
		it = raw.Iterator(it)
		for it.Next() != storage.ValNone {
		}
	})
}
