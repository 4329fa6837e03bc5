package promql

import "testing"

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
