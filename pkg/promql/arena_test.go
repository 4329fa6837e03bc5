package promql

import (
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/histogram"
)

// Big queries take the slab size that leaves least unused; small ones keep
// the small classes.
func TestSlabClassWastesLittle(t *testing.T) {
	for _, c := range []struct{ held, n, want int }{
		{0, 100, 0},     // a small query starts small
		{1, 5000, 1},    // three fit a middle slab: 8% left
		{2, 10_000, 2},  // alone in a middle slab it leaves 39%: six in a big one, 8%
		{1, 10_000, 1},  // an arena with one slab keeps to the middle class
		{2, 20_000, 2},  // too big for the middle class
		{2, 16_384, 1},  // fills a middle slab exactly
		{5, 1 << 16, 2}, // the biggest pooled request
		{3, 60_000, 2},  // only one class holds it
		{2, 9_000, 2},   // 45% left in a middle slab, 4% in a big one
		{2, 8_000, 1},   // two fit a middle slab: 2% left
	} {
		if got := slabClass(c.held, c.n, 1); got != c.want {
			t.Errorf("slabClass(held %d, n %d) = %d, want %d", c.held, c.n, got, c.want)
		}
	}
}

// The pool keeps slabs across garbage collections, up to its bound, and
// lets go of those no query needed for a whole trim interval.
func TestSlabPoolKeepsBoundedAndTrimsUnused(t *testing.T) {
	big := floatSlabBytes(2)
	p := newSlabPool(3*big, time.Hour) // trims are called by hand
	a := newArena(p)
	for range 4 {
		a.floats(1 << 16)
	}
	a.release()
	if got := p.heldBytes(); got != 3*big {
		t.Fatalf("held %d bytes after releasing four big slabs, want the bound %d", got, 3*big)
	}
	runtime.GC()
	runtime.GC()
	first := p.getFloats(2)
	if got := p.heldBytes(); got != 2*big {
		t.Fatalf("held %d bytes after two collections and one get, want %d", got, 2*big)
	}
	p.putFloats(2, first)

	p.trim() // the pool was empty when the interval began: nothing to drop
	if got := p.heldBytes(); got != 3*big {
		t.Fatalf("held %d bytes after the first trim, want %d", got, 3*big)
	}
	p.putFloats(2, p.getFloats(2))
	p.trim() // one slab was taken in this interval: two were never needed
	if got := p.heldBytes(); got != big {
		t.Fatalf("held %d bytes after the second trim, want %d", got, big)
	}
	p.trim() // nothing taken since
	if got := p.heldBytes(); got != 0 {
		t.Fatalf("held %d bytes after an idle interval, want 0", got)
	}
	p.mu.Lock()
	armed := p.timer != nil
	p.mu.Unlock()
	if armed {
		t.Fatal("an empty pool keeps its trim timer armed")
	}
}

// Released histogram slabs hold no histograms alive.
func TestSlabPoolClearsHistograms(t *testing.T) {
	p := newSlabPool(0, time.Hour)
	a := newArena(p)
	s := a.hists(10)[:1]
	s[0] = HPoint{T: 1, H: &histogram.FloatHistogram{Count: 1}}
	a.release()
	got := p.getHists(0)
	if (*got)[0].H != nil {
		t.Fatal("a pooled histogram slab still points at a histogram")
	}
}

// An engine built to keep nothing allocates every slab and keeps none.
func TestSlabPoolDisabled(t *testing.T) {
	if p := newSlabPool(-1, time.Hour); p != nil {
		t.Fatal("a negative bound made a pool")
	}
	a := newArena(nil)
	if s := a.floats(10); cap(s) != 10 {
		t.Fatalf("cap %d, want 10", cap(s))
	}
	a.release()
}
