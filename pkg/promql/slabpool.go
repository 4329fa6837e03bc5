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
		p.mu.Lock()
		if l := p.floats[c]; len(l) > 0 {
			s := l[len(l)-1]
			l[len(l)-1] = nil
			p.floats[c] = l[:len(l)-1]
			p.took(floatSlabBytes(c))
			p.mu.Unlock()
			return s
		}
		p.mu.Unlock()
	}
	s := make([]FPoint, slabClasses[c])
	return &s
}

func (p *slabPool) getHists(c int) *[]HPoint {
	if p != nil {
		p.mu.Lock()
		if l := p.hists[c]; len(l) > 0 {
			s := l[len(l)-1]
			l[len(l)-1] = nil
			p.hists[c] = l[:len(l)-1]
			p.took(histSlabBytes(c))
			p.mu.Unlock()
			return s
		}
		p.mu.Unlock()
	}
	s := make([]HPoint, slabClasses[c]/2)
	return &s
}

// putFloats keeps s unless the pool is full. FPoints hold no pointers: the
// slab needs no clearing.
func (p *slabPool) putFloats(c int, s *[]FPoint) {
	if p == nil {
		return
	}
	p.mu.Lock()
	if p.fits(floatSlabBytes(c)) {
		p.floats[c] = append(p.floats[c], s)
		p.gave(floatSlabBytes(c))
	}
	p.mu.Unlock()
}

// putHists keeps s, cleared so that the pool holds no histograms alive.
func (p *slabPool) putHists(c int, s *[]HPoint) {
	if p == nil {
		return
	}
	clear(*s)
	p.mu.Lock()
	if p.fits(histSlabBytes(c)) {
		p.hists[c] = append(p.hists[c], s)
		p.gave(histSlabBytes(c))
	}
	p.mu.Unlock()
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
		for n := floatSlabBytes(c); len(p.floats[c]) > 0 && n <= drop; drop -= n {
			p.floats[c][len(p.floats[c])-1] = nil
			p.floats[c] = p.floats[c][:len(p.floats[c])-1]
			p.held -= n
		}
		for n := histSlabBytes(c); len(p.hists[c]) > 0 && n <= drop; drop -= n {
			p.hists[c][len(p.hists[c])-1] = nil
			p.hists[c] = p.hists[c][:len(p.hists[c])-1]
			p.held -= n
		}
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
