package index

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
)

// testIndexSeries makes n sorted label sets with shared and unique values.
func testIndexSeries(n int) []labels.Labels {
	out := make([]labels.Labels, 0, n)
	for i := range n {
		out = append(out, labels.FromStrings(
			"__name__", fmt.Sprintf("metric_%d", i%7),
			"instance", fmt.Sprintf("host-%03d:9100", i),
			"job", []string{"api", "db", "node"}[i%3],
		))
	}
	sort.Slice(out, func(i, j int) bool { return labels.Compare(out[i], out[j]) < 0 })
	return out
}

func writeTestIndex(t testing.TB, path string, series []labels.Labels) {
	t.Helper()
	var syms []string
	for _, l := range series {
		l.Range(func(l labels.Label) { syms = append(syms, l.Name, l.Value) })
	}
	w, err := NewWriter(path, syms)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range series {
		chks := []ChunkMeta{{MinT: int64(i), MaxT: int64(i) + 100, Ref: uint64(i * 10)}, {MinT: int64(i) + 101, MaxT: int64(i) + 200, Ref: uint64(i*10 + 5)}}
		if err := w.AddSeries(l, chks); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestBlockIndexRoundTrip(t *testing.T) {
	series := testIndexSeries(300)
	path := filepath.Join(t.TempDir(), "index")
	writeTestIndex(t, path, series)
	r, err := OpenBlockReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.NumSeries() != len(series) {
		t.Fatalf("%d series, want %d", r.NumSeries(), len(series))
	}
	var sb labels.ScratchBuilder
	for i, want := range series {
		got, chks, err := r.Series(uint64(i), &sb, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !labels.Equal(got, want) {
			t.Fatalf("series %d: %s, want %s", i, got, want)
		}
		if len(chks) != 2 || chks[1].Ref != chks[0].Ref+5 || chks[1].MaxT-chks[0].MinT != 200 {
			t.Fatalf("series %d chunks %v", i, chks)
		}
	}
	if got := r.LabelNames(); !slices.Equal(got, []string{"__name__", "instance", "job"}) {
		t.Fatalf("names %v", got)
	}
	vals, _ := r.LabelValues("instance")
	if len(vals) != 300 || !slices.IsSorted(vals) {
		t.Fatalf("%d instance values", len(vals))
	}
	// Matchers through the shared evaluation agree with a scan of the labels.
	for _, ms := range [][]*labels.Matcher{
		{labels.MustNewMatcher(labels.MatchEqual, "job", "db")},
		{labels.MustNewMatcher(labels.MatchRegexp, "instance", "host-0[0-4].*"), labels.MustNewMatcher(labels.MatchNotEqual, "job", "api")},
		{labels.MustNewMatcher(labels.MatchRegexp, "__name__", "metric_1|metric_3")},
		{labels.MustNewMatcher(labels.MatchNotRegexp, "instance", "host-1.*")},
		{labels.MustNewMatcher(labels.MatchEqual, "missing", "")},
		{labels.MustNewMatcher(labels.MatchEqual, "instance", "host-299:9100")},
		{labels.MustNewMatcher(labels.MatchEqual, "instance", "nope")},
	} {
		got, err := Select(r, ms...)
		if err != nil {
			t.Fatal(err)
		}
		var want []uint64
		for i, l := range series {
			ok := true
			for _, m := range ms {
				ok = ok && m.Matches(l.Get(m.Name))
			}
			if ok {
				want = append(want, uint64(i))
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%v: %v, want %v", ms, got, want)
		}
	}
	n := 0
	if err := r.Symbols(func(string) error { n++; return nil }); err != nil || n != r.NumSymbols() {
		t.Fatalf("%d symbols iterated of %d: %v", n, r.NumSymbols(), err)
	}
}

// Every flipped byte of an index is detected when it is opened.
func TestBlockIndexDetectsCorruption(t *testing.T) {
	path := filepath.Join(t.TempDir(), "index")
	writeTestIndex(t, path, testIndexSeries(50))
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		c := slices.Clone(b)
		i := rng.IntN(len(c))
		c[i] ^= byte(1 + rng.IntN(255))
		if _, err := NewBlockReader(c); err == nil {
			t.Fatalf("flipping byte %d of %d went unnoticed", i, len(c))
		}
	}
	if _, err := NewBlockReader(b[:len(b)-1]); err == nil {
		t.Fatal("truncated index went unnoticed")
	}
}

func TestWriterRefusesUnsortedSeries(t *testing.T) {
	w, err := NewWriter(filepath.Join(t.TempDir(), "index"), []string{"a", "b", "c"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	if err := w.AddSeries(labels.FromStrings("a", "c"), nil); err != nil {
		t.Fatal(err)
	}
	if err := w.AddSeries(labels.FromStrings("a", "b"), nil); err == nil {
		t.Fatal("series out of order accepted")
	}
	if err := w.AddSeries(labels.FromStrings("a", "zzz"), nil); err == nil {
		t.Fatal("label without a symbol accepted")
	}
}
