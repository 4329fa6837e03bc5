package tsdb

import (
	"fmt"
	"math/rand/v2"
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
