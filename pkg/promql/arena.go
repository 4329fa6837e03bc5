package promql

import "sync"

// Point slices are the bulk of what a query allocates. They come from
// slabs that the query keeps until its result is closed and that then go
// back to a pool for the next query, so that steady query load allocates
// little (Prometheus pools its point slices for the same reason).

// slabPoints is the size of a pooled slab, in points (1 MiB of FPoints).
const slabPoints = 1 << 16

var (
	floatSlabs = sync.Pool{New: func() any { s := make([]FPoint, slabPoints); return &s }}
	histSlabs  = sync.Pool{New: func() any { s := make([]HPoint, slabPoints/2); return &s }}
)

// pointArena is a bump allocator of point slices over pooled slabs. One
// arena is used by one goroutine at a time.
type pointArena struct {
	fslabs []*[]FPoint
	fslab  []FPoint
	foff   int
	flast  int // offset of the last slice handed out, -1 if none

	hslabs []*[]HPoint
	hslab  []HPoint
	hoff   int
	hlast  int
}

func newArena() *pointArena { return &pointArena{flast: -1, hlast: -1} }

// floats returns an empty slice with room for n points.
func (a *pointArena) floats(n int) []FPoint {
	if n > slabPoints {
		return make([]FPoint, 0, n) // too big to pool
	}
	if a.foff+n > len(a.fslab) {
		s := floatSlabs.Get().(*[]FPoint)
		a.fslabs = append(a.fslabs, s)
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
		s := histSlabs.Get().(*[]HPoint)
		a.hslabs = append(a.hslabs, s)
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

// release returns every slab to the pools. Nothing allocated from the
// arena may be used afterwards.
func (a *pointArena) release() {
	for _, s := range a.fslabs {
		floatSlabs.Put(s) // FPoints hold no pointers: no need to clear
	}
	for _, s := range a.hslabs {
		clear(*s) // histograms must not stay reachable from the pool
		histSlabs.Put(s)
	}
	*a = pointArena{flast: -1, hlast: -1}
}
