package tsdb

import (
	"github.com/prometheus/prometheus/model/labels"
	"sync"
)

// stripeCount shards the series maps so that concurrent appenders and
// queries rarely wait on the same lock.
const stripeCount = 1 << 10

type seriesStripe struct {
	mtx    sync.RWMutex
	byRef  map[uint64]*memSeries
	byHash map[uint64]*memSeries
	// conflicts holds the further series of a hash that collides.
	conflicts map[uint64][]*memSeries
}

// stripeSeries finds series by ref and by labels.
type stripeSeries struct {
	refs   [stripeCount]seriesStripe
	hashes [stripeCount]seriesStripe
}

func newStripeSeries() *stripeSeries {
	s := &stripeSeries{}
	for i := range stripeCount {
		s.refs[i].byRef = map[uint64]*memSeries{}
		s.hashes[i].byHash = map[uint64]*memSeries{}
	}
	return s
}

func (s *stripeSeries) getByRef(ref uint64) *memSeries {
	st := &s.refs[ref&(stripeCount-1)]
	st.mtx.RLock()
	ms := st.byRef[ref]
	st.mtx.RUnlock()
	return ms
}

func (s *stripeSeries) getByHash(h uint64, lset labels.Labels) *memSeries {
	st := &s.hashes[h&(stripeCount-1)]
	st.mtx.RLock()
	defer st.mtx.RUnlock()
	return st.lookup(h, lset)
}

func (st *seriesStripe) lookup(h uint64, lset labels.Labels) *memSeries {
	if ms := st.byHash[h]; ms != nil && labels.Equal(ms.lset, lset) {
		return ms
	}
	for _, ms := range st.conflicts[h] {
		if labels.Equal(ms.lset, lset) {
			return ms
		}
	}
	return nil
}

// getOrSet returns the series with the labels of ms, adding ms if there is
// none; created says which happened.
func (s *stripeSeries) getOrSet(h uint64, ms *memSeries) (got *memSeries, created bool) {
	st := &s.hashes[h&(stripeCount-1)]
	st.mtx.Lock()
	if old := st.lookup(h, ms.lset); old != nil {
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
	st.mtx.Unlock()

	rs := &s.refs[ms.ref&(stripeCount-1)]
	rs.mtx.Lock()
	rs.byRef[ms.ref] = ms
	rs.mtx.Unlock()
	return ms, true
}

// remove forgets a series.
func (s *stripeSeries) remove(ms *memSeries) {
	h := ms.lset.Hash()
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
	st.mtx.Unlock()

	rs := &s.refs[ms.ref&(stripeCount-1)]
	rs.mtx.Lock()
	delete(rs.byRef, ms.ref)
	rs.mtx.Unlock()
}

// forEach calls f for every series, one stripe at a time.
func (s *stripeSeries) forEach(f func(*memSeries)) {
	var batch []*memSeries
	for i := range stripeCount {
		st := &s.refs[i]
		st.mtx.RLock()
		batch = batch[:0]
		for _, ms := range st.byRef {
			batch = append(batch, ms)
		}
		st.mtx.RUnlock()
		for _, ms := range batch {
			f(ms)
		}
	}
}
