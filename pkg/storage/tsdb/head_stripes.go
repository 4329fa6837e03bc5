package tsdb

import (
	"sync"
	"sync/atomic"

	"github.com/prometheus/prometheus/model/labels"
)

// stripeCount shards the label-hash maps so that concurrent appenders and
// queries rarely wait on the same lock.
const stripeCount = 1 << 10

type seriesStripe struct {
	mtx    sync.RWMutex
	byHash map[uint64]*memSeries
	// conflicts holds the further series of a hash that collides.
	conflicts map[uint64][]*memSeries
}

// stripeSeries finds series by ref (a paged array: refs are handed out in
// increasing order) and by labels (hash maps).
type stripeSeries struct {
	refs    refIndex
	hashes  [stripeCount]seriesStripe
	symbols *symbolTable
}

func newStripeSeries(symbols *symbolTable) *stripeSeries {
	s := &stripeSeries{symbols: symbols}
	for i := range stripeCount {
		s.hashes[i].byHash = map[uint64]*memSeries{}
	}
	return s
}

func (s *stripeSeries) getByRef(ref uint64) *memSeries { return s.refs.get(ref) }

func (s *stripeSeries) getByHash(h uint64, lset labels.Labels) *memSeries {
	st := &s.hashes[h&(stripeCount-1)]
	st.mtx.RLock()
	defer st.mtx.RUnlock()
	return st.find(h, func(ms *memSeries) bool { return s.symbols.equal(ms.syms, lset) })
}

// find returns the series of label hash h that match says is the one.
// Callers hold mtx.
func (st *seriesStripe) find(h uint64, match func(*memSeries) bool) *memSeries {
	if ms := st.byHash[h]; ms != nil && match(ms) {
		return ms
	}
	for _, ms := range st.conflicts[h] {
		if match(ms) {
			return ms
		}
	}
	return nil
}

// getOrSet returns the series with the labels of ms, whose hash is h,
// adding ms if there is none; created says which happened. Interned label
// sets are equal exactly when their ids are: comparing them needs neither
// the labels nor the symbol table's lock, which every creation would take
// again under the creation lock.
func (s *stripeSeries) getOrSet(h uint64, ms *memSeries) (got *memSeries, created bool) {
	st := &s.hashes[h&(stripeCount-1)]
	st.mtx.Lock()
	if old := st.find(h, func(old *memSeries) bool { return old.syms == ms.syms }); old != nil {
		st.mtx.Unlock()
		return old, false
	}
	if st.byHash[h] == nil {
		st.byHash[h] = ms
	} else {
		if st.conflicts == nil {
			st.conflicts = map[uint64][]*memSeries{}
		}
		st.conflicts[h] = append(st.conflicts[h], ms)
	}
	// Set the ref under the stripe lock: a concurrent getOrSet of the same
	// labels must not return the series before getByRef finds it.
	s.refs.set(ms.ref, ms)
	st.mtx.Unlock()
	return ms, true
}

// remove forgets a series whose labels hash to h.
func (s *stripeSeries) remove(ms *memSeries, h uint64) {
	st := &s.hashes[h&(stripeCount-1)]
	st.mtx.Lock()
	if st.byHash[h] == ms {
		delete(st.byHash, h)
		if c := st.conflicts[h]; len(c) > 0 {
			st.byHash[h] = c[0]
			st.conflicts[h] = c[1:]
		}
	} else {
		c := st.conflicts[h]
		for i, x := range c {
			if x == ms {
				st.conflicts[h] = append(c[:i:i], c[i+1:]...)
				break
			}
		}
	}
	if len(st.conflicts[h]) == 0 {
		delete(st.conflicts, h)
	}
	s.refs.remove(ms.ref)
	st.mtx.Unlock()
}

// forEach calls f for every series, a page of refs at a time.
func (s *stripeSeries) forEach(f func(*memSeries)) { s.refs.forEach(f) }

// refIndex maps refs to series with a paged array: a lookup is two loads,
// no lock, and a series costs a pointer. A page is freed once every series
// in it is gone and no ref of it can be handed out again.
const (
	refPageBits = 12
	refPageSize = 1 << refPageBits
)

type refPage struct {
	slots [refPageSize]atomic.Pointer[memSeries]
	live  atomic.Int32
}

type refIndex struct {
	mtx   sync.Mutex // serializes changes to the page table
	pages atomic.Pointer[[]*refPage]
	max   atomic.Uint64 // largest ref set
}

func (r *refIndex) page(ref uint64) *refPage {
	pp := r.pages.Load()
	if pp == nil {
		return nil
	}
	i := ref >> refPageBits
	if i >= uint64(len(*pp)) {
		return nil
	}
	return (*pp)[i]
}

func (r *refIndex) get(ref uint64) *memSeries {
	if p := r.page(ref); p != nil {
		return p.slots[ref&(refPageSize-1)].Load()
	}
	return nil
}

func (r *refIndex) set(ref uint64, s *memSeries) {
	p := r.page(ref)
	if p == nil {
		p = r.addPage(ref)
	}
	if p.slots[ref&(refPageSize-1)].Swap(s) == nil {
		p.live.Add(1)
	}
	for {
		m := r.max.Load()
		if ref <= m || r.max.CompareAndSwap(m, ref) {
			break
		}
	}
}

// addPage creates the page of ref, copying the page table so that readers
// never see it change under them.
func (r *refIndex) addPage(ref uint64) *refPage {
	r.mtx.Lock()
	defer r.mtx.Unlock()
	if p := r.page(ref); p != nil {
		return p
	}
	i := int(ref >> refPageBits)
	var old []*refPage
	if pp := r.pages.Load(); pp != nil {
		old = *pp
	}
	pages := make([]*refPage, max(len(old), i+1))
	copy(pages, old)
	pages[i] = &refPage{}
	r.pages.Store(&pages)
	return pages[i]
}

func (r *refIndex) remove(ref uint64) {
	p := r.page(ref)
	if p == nil || p.slots[ref&(refPageSize-1)].Swap(nil) == nil {
		return
	}
	// A page behind the newest ref gets no new series: free it when empty.
	if p.live.Add(-1) == 0 && (ref>>refPageBits) < (r.max.Load()>>refPageBits) {
		r.mtx.Lock()
		defer r.mtx.Unlock()
		pp := r.pages.Load()
		i := ref >> refPageBits
		if p.live.Load() == 0 && (*pp)[i] == p {
			pages := append([]*refPage(nil), *pp...)
			pages[i] = nil
			r.pages.Store(&pages)
		}
	}
}

func (r *refIndex) forEach(f func(*memSeries)) {
	pp := r.pages.Load()
	if pp == nil {
		return
	}
	for _, p := range *pp {
		if p == nil {
			continue
		}
		for i := range p.slots {
			if s := p.slots[i].Load(); s != nil {
				f(s)
			}
		}
	}
}
