package promql

import (
	"sync"
	"time"
	"unsafe"
)

// slabPool keeps the point slabs of finished queries for later ones. It is
// not a sync.Pool: garbage collections empty those, and a big range query
// arriving after a collection or two then allocated its tens of megabytes
// of slabs again (how often depended on when collections fell, not on the
// load). It is bounded instead, in bytes held, and lets go of what stayed
// unused for a whole trim interval, so that an idle engine gives its
// memory back within two intervals.
type slabPool struct {
	limit    int64
	interval time.Duration

	mu     sync.Mutex
	floats [len(slabClasses)][]*[]FPoint
	hists  [len(slabClasses)][]*[]HPoint
	held   int64       // bytes in the free lists
	unused int64       // fewest bytes held since the last trim: never needed
	timer  *time.Timer // armed while anything is held
}

const (
	defaultPointPoolBytes = 64 << 20
	slabTrimInterval      = time.Minute
	fpointBytes           = int64(unsafe.Sizeof(FPoint{}))
	hpointBytes           = int64(unsafe.Sizeof(HPoint{}))
)

// newSlabPool returns a pool holding up to limit bytes; nil (no pooling)
// when limit is negative.
func newSlabPool(limit int64, interval time.Duration) *slabPool {
	if limit < 0 {
		return nil
	}
	if limit == 0 {
		limit = defaultPointPoolBytes
	}
	return &slabPool{limit: limit, interval: interval}
}

func floatSlabBytes(c int) int64 { return int64(slabClasses[c]) * fpointBytes }
func histSlabBytes(c int) int64  { return int64(slabClasses[c]/2) * hpointBytes }

func (p *slabPool) getFloats(c int) *[]FPoint {
	if p != nil {
		if s := take(p, &p.floats[c], floatSlabBytes(c)); s != nil {
			return s
		}
	}
	s := make([]FPoint, slabClasses[c])
	return &s
}

func (p *slabPool) getHists(c int) *[]HPoint {
	if p != nil {
		if s := take(p, &p.hists[c], histSlabBytes(c)); s != nil {
			return s
		}
	}
	s := make([]HPoint, slabClasses[c]/2)
	return &s
}

// putFloats keeps s unless the pool is full. FPoints hold no pointers: the
// slab needs no clearing.
func (p *slabPool) putFloats(c int, s *[]FPoint) {
	if p != nil {
		keep(p, &p.floats[c], s, floatSlabBytes(c))
	}
}

// putHists keeps s, cleared so that the pool holds no histograms alive.
func (p *slabPool) putHists(c int, s *[]HPoint) {
	if p != nil {
		clear(*s)
		keep(p, &p.hists[c], s, histSlabBytes(c))
	}
}

// take pops a slab of n bytes from list, nil if there is none.
func take[T any](p *slabPool, list *[]*[]T, n int64) *[]T {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := *list
	if len(l) == 0 {
		return nil
	}
	s := l[len(l)-1]
	l[len(l)-1] = nil
	*list = l[:len(l)-1]
	p.took(n)
	return s
}

// keep pushes a slab of n bytes onto list unless the pool is full.
func keep[T any](p *slabPool, list *[]*[]T, s *[]T, n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fits(n) {
		*list = append(*list, s)
		p.gave(n)
	}
}

// dropUpTo lets go of slabs of n bytes from list while budget allows;
// it returns what is left of the budget. Callers hold mu.
func dropUpTo[T any](p *slabPool, list *[]*[]T, n, budget int64) int64 {
	for l := *list; len(l) > 0 && n <= budget; l = *list {
		l[len(l)-1] = nil
		*list = l[:len(l)-1]
		p.held -= n
		budget -= n
	}
	return budget
}

func (p *slabPool) fits(n int64) bool { return p.held+n <= p.limit }

func (p *slabPool) took(n int64) {
	p.held -= n
	p.unused = min(p.unused, p.held)
}

// gave counts n bytes put back. The first put into an empty pool starts
// the trim interval; the pool was empty at its start, so nothing is
// unused yet.
func (p *slabPool) gave(n int64) {
	if p.timer == nil {
		p.unused = 0
		p.timer = time.AfterFunc(p.interval, p.trim)
	}
	p.held += n
}

// trim lets go of the slabs no query needed since the last trim (the
// biggest first) and rearms the timer while anything is left.
func (p *slabPool) trim() {
	p.mu.Lock()
	defer p.mu.Unlock()
	drop := p.unused
	for c := len(slabClasses) - 1; c >= 0; c-- {
		drop = dropUpTo(p, &p.floats[c], floatSlabBytes(c), drop)
		drop = dropUpTo(p, &p.hists[c], histSlabBytes(c), drop)
	}
	p.unused = p.held
	if p.held > 0 {
		p.timer.Reset(p.interval)
	} else {
		p.timer = nil
	}
}

// heldBytes is what the pool keeps now.
func (p *slabPool) heldBytes() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.held
}
