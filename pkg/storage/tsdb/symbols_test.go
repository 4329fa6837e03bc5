package tsdb

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
)

// The symbol table gives back the label sets it interned and orders them
// as labels.Compare does; released symbols are reused.
func TestSymbolTable(t *testing.T) {
	tab := newSymbolTable()
	rng := rand.New(rand.NewPCG(1, 2))
	var sets []labels.Labels
	var syms []symLabels
	for i := range 2000 {
		b := labels.NewScratchBuilder(0)
		for j := range 1 + rng.IntN(6) {
			// Many values, so that ids take one and two bytes.
			b.Add(fmt.Sprintf("l%d", j), fmt.Sprintf("v%d", rng.IntN(300+i)))
		}
		b.Sort()
		l := b.Labels()
		sets, syms = append(sets, l), append(syms, tab.intern(l))
	}
	var sb labels.ScratchBuilder
	for i := range sets {
		if got := tab.labels(syms[i], &sb); !labels.Equal(got, sets[i]) {
			t.Fatalf("%d: %s, want %s", i, got, sets[i])
		}
		if !tab.equal(syms[i], sets[i]) {
			t.Fatalf("%d: not equal to its labels", i)
		}
		for j := range 50 {
			k := (i*31 + j) % len(sets)
			want, got := labels.Compare(sets[i], sets[k]), tab.compare(syms[i], syms[k])
			if (want < 0) != (got < 0) || (want == 0) != (got == 0) {
				t.Fatalf("compare %s and %s: %d, want sign of %d", sets[i], sets[k], got, want)
			}
			if want != 0 && tab.equal(syms[i], sets[k]) {
				t.Fatalf("%s equal to %s", sets[i], sets[k])
			}
		}
	}
	n := tab.len()
	for _, s := range syms {
		tab.release(s)
	}
	if tab.len() != 0 {
		t.Fatalf("%d symbols left after releasing every label set (of %d)", tab.len(), n)
	}
	s := tab.intern(labels.FromStrings("a", "b"))
	if got := tab.labels(s, &sb); got.String() != `{a="b"}` || len(tab.strs) != n {
		t.Fatalf("after reuse: %s, %d strings (%d before)", got, len(tab.strs), n)
	}
}

// The head's postings find lists by symbol ids: once garbage collection
// freed the symbols of removed series, new label values take their ids,
// and their series must land in lists of their own.
func TestPostingsAfterSymbolIDsReused(t *testing.T) {
	db := openTest(t, t.TempDir())
	defer db.Close()
	add := func(l labels.Labels, ts int64) {
		t.Helper()
		app := db.Appender(context.Background())
		if _, err := app.Append(0, l, ts, 1); err != nil {
			t.Fatal(err)
		}
		if err := app.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	add(labels.FromStrings("__name__", "old", "k", "gone"), 1000)
	add(labels.FromStrings("__name__", "keep", "k", "stay"), 5000)
	db.Truncate(2000)
	strs := len(db.head.symbols.strs)
	// "fresh" takes the id "gone" had: its pair's key is that of k="gone".
	add(labels.FromStrings("__name__", "keep", "k", "fresh"), 6000)
	if n := len(db.head.symbols.strs); n != strs {
		t.Fatalf("%d symbols after the new series, %d before: freed ids not reused", n, strs)
	}
	for _, c := range []struct {
		name, value string
		want        []string
	}{
		{"__name__", "keep", []string{`{__name__="keep", k="fresh"}`, `{__name__="keep", k="stay"}`}},
		{"k", "fresh", []string{`{__name__="keep", k="fresh"}`}},
		{"k", "stay", []string{`{__name__="keep", k="stay"}`}},
		{"__name__", "old", nil},
		{"k", "gone", nil},
	} {
		got := slices.Sorted(maps.Keys(dump(t, db, labels.MustNewMatcher(labels.MatchEqual, c.name, c.value))))
		if !slices.Equal(got, c.want) {
			t.Errorf("%s=%q: %v, want %v", c.name, c.value, got, c.want)
		}
	}
}
