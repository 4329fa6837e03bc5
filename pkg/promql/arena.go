package promql

// Point slices are the bulk of what a query allocates. They come from
// slabs that the query keeps until its result is closed and that then go
// back to the engine's slabPool for the next query, so that steady query
// load allocates little (Prometheus pools its point slices for the same
// reason).

// Slabs come in three sizes, in points: an arena takes a small one first
// and middle ones as it fills, so that a small query holds (and, when the
// pools were emptied by a garbage collection, allocates) little. The
// biggest, 1 MiB of FPoints, only serves requests too big for the middle
// one: taken as a matter of course, its unused tail made big queries
// allocate up to a third more whenever the pools had been emptied.
var slabClasses = [...]int{1 << 12, 1 << 14, 1 << 16}

// growClass is the largest class an arena moves up to as it fills.
const growClass = 1

// slabPoints is the biggest slab; bigger requests are allocated apart.
const slabPoints = 1 << 16

// slabClass picks the size class of the next slab of an arena that holds
// held slabs already and needs room for n points; histogram slabs hold
// half the points of their class (div 2).
func slabClass(held, n, div int) int {
	c := min(held, growClass)
	for c < len(slabClasses)-1 && slabClasses[c]/div < n {
		c++
	}
	if held >= 2 && 2*n > slabClasses[c]/div {
		c = leastWaste(c, n, div)
	}
	return c
}

// leastWaste picks, from class c up, the class whose slabs leave the
// smallest share unused when filled with requests of n points. A request
// taking more than half of its slab wastes the rest (the next one does not
// fit): a 10,000-point series alone in a 16,384-point slab leaves 39%,
// six in a 65,536-point one 8%. Only arenas already holding slabs (big
// queries) choose this way, so that small queries keep small slabs.
func leastWaste(c, n, div int) int {
	best, bestWaste := c, 1.0
	for k := c; k < len(slabClasses); k++ {
		size := slabClasses[k] / div
		if size < n {
			continue
		}
		if w := float64(size%n) / float64(size); w < bestWaste {
			best, bestWaste = k, w
		}
	}
	return best
}

// pointArena is a bump allocator of point slices over pooled slabs. One
// arena is used by one goroutine at a time.
type pointArena struct {
	pool *slabPool // nil: slabs are left to the garbage collector

	fslabs []pooledFloats
	// fslabs0 backs fslabs while the arena holds one slab (short queries
	// need no more): one allocation less per query.
	fslabs0 [1]pooledFloats
	fslab   []FPoint
	foff    int
	flast   int // offset of the last slice handed out, -1 if none

	hslabs []pooledHists
	hslab  []HPoint
	hoff   int
	hlast  int
}

type pooledFloats struct {
	s     *[]FPoint
	class int
}

type pooledHists struct {
	s     *[]HPoint
	class int
}

func newArena(pool *slabPool) *pointArena {
	return &pointArena{pool: pool, flast: -1, hlast: -1}
}

// floats returns an empty slice with room for n points.
func (a *pointArena) floats(n int) []FPoint {
	if n > slabPoints {
		return make([]FPoint, 0, n) // too big to pool
	}
	if a.foff+n > len(a.fslab) {
		c := slabClass(len(a.fslabs), n, 1)
		s := a.pool.getFloats(c)
		if a.fslabs == nil {
			a.fslabs = a.fslabs0[:0]
		}
		a.fslabs = append(a.fslabs, pooledFloats{s, c})
		a.fslab, a.foff = *s, 0
	}
	s := a.fslab[a.foff : a.foff : a.foff+n]
	a.flast = a.foff
	a.foff += n
	return s
}

// doneFloats gives back the unused room of s when s is the last slice
// handed out, and caps s to its length.
func (a *pointArena) doneFloats(s []FPoint) []FPoint {
	if a.flast >= 0 && cap(s) > 0 && a.flast < len(a.fslab) && &a.fslab[a.flast] == &s[:1][0] {
		a.foff = a.flast + len(s)
		a.flast = -1
	}
	return s[:len(s):len(s)]
}

// growFloats makes room for at least one more point in s, taking a bigger
// slice from the arena when s is full; max bounds the points s can ever
// hold.
func (a *pointArena) growFloats(s []FPoint, max int) []FPoint {
	if len(s) < cap(s) {
		return s
	}
	n := min(max, 4*len(s)+8)
	next := a.floats(n)
	a.flast = -1 // interleaved growth: never shrink back
	return append(next, s...)
}

func (a *pointArena) hists(n int) []HPoint {
	if n > slabPoints/2 {
		return make([]HPoint, 0, n)
	}
	if a.hoff+n > len(a.hslab) {
		c := slabClass(len(a.hslabs), n, 2)
		s := a.pool.getHists(c)
		a.hslabs = append(a.hslabs, pooledHists{s, c})
		a.hslab, a.hoff = *s, 0
	}
	s := a.hslab[a.hoff : a.hoff : a.hoff+n]
	a.hlast = a.hoff
	a.hoff += n
	return s
}

func (a *pointArena) doneHists(s []HPoint) []HPoint {
	if a.hlast >= 0 && cap(s) > 0 && a.hlast < len(a.hslab) && &a.hslab[a.hlast] == &s[:1][0] {
		a.hoff = a.hlast + len(s)
		a.hlast = -1
	}
	return s[:len(s):len(s)]
}

func (a *pointArena) growHists(s []HPoint, max int) []HPoint {
	if len(s) < cap(s) {
		return s
	}
	n := min(max, 4*len(s)+8)
	next := a.hists(n)
	a.hlast = -1
	return append(next, s...)
}

// adopt takes over the slabs of another arena (a finished worker's).
func (a *pointArena) adopt(o *pointArena) {
	a.fslabs = append(a.fslabs, o.fslabs...)
	a.hslabs = append(a.hslabs, o.hslabs...)
	o.fslabs, o.hslabs = nil, nil
	o.fslab, o.hslab = nil, nil
}

// release returns every slab to the pool. Nothing allocated from the
// arena may be used afterwards.
func (a *pointArena) release() {
	for _, p := range a.fslabs {
		a.pool.putFloats(p.class, p.s)
	}
	for _, p := range a.hslabs {
		a.pool.putHists(p.class, p.s)
	}
	*a = pointArena{pool: a.pool, flast: -1, hlast: -1}
}
