package memstore

import (
	"context"
	"sort"
	"sync"

	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/storage"
)

// DefaultMaxExemplars bounds the exemplars a Store keeps; the oldest go first.
const DefaultMaxExemplars = 100_000

type storedExemplar struct {
	ref storage.SeriesRef
	e   exemplar.Exemplar
}

// exemplarRing keeps the newest exemplars of all series in a fixed-size
// circular buffer, so that memory stays bounded however many arrive.
type exemplarRing struct {
	mtx  sync.RWMutex
	buf  []storedExemplar
	next int
	full bool
	// last is the newest exemplar per series, for order and duplicate checks.
	last map[storage.SeriesRef]exemplar.Exemplar
}

func newExemplarRing(size int) *exemplarRing {
	return &exemplarRing{buf: make([]storedExemplar, size), last: map[storage.SeriesRef]exemplar.Exemplar{}}
}

// check says whether e may follow the series' newest exemplar: an exact
// repeat is skipped (dup), an older one refused.
func (r *exemplarRing) check(ref storage.SeriesRef, e exemplar.Exemplar) (dup bool, err error) {
	r.mtx.RLock()
	last, ok := r.last[ref]
	r.mtx.RUnlock()
	switch {
	case !ok:
		return false, nil
	case last.Equals(e):
		return true, nil
	case e.Ts < last.Ts:
		return false, storage.ErrOutOfOrderExemplar
	}
	return false, nil
}

func (r *exemplarRing) add(ref storage.SeriesRef, e exemplar.Exemplar) {
	if dup, err := r.check(ref, e); dup || err != nil {
		return // a concurrent appender committed it or a newer one first
	}
	r.mtx.Lock()
	defer r.mtx.Unlock()
	if old := r.buf[r.next]; r.full && r.last[old.ref].Equals(old.e) {
		delete(r.last, old.ref) // the series' newest exemplar is being evicted
	}
	r.buf[r.next] = storedExemplar{ref: ref, e: e}
	r.last[ref] = e
	r.next = (r.next + 1) % len(r.buf)
	if r.next == 0 {
		r.full = true
	}
}

// inRange returns the exemplars of the wanted series within [start, end],
// oldest first.
func (r *exemplarRing) inRange(want map[storage.SeriesRef]bool, start, end int64) map[storage.SeriesRef][]exemplar.Exemplar {
	r.mtx.RLock()
	defer r.mtx.RUnlock()
	out := map[storage.SeriesRef][]exemplar.Exemplar{}
	n := r.next
	if r.full {
		n = len(r.buf)
	}
	first := 0
	if r.full {
		first = r.next
	}
	for i := 0; i < n; i++ {
		se := r.buf[(first+i)%len(r.buf)]
		if want[se.ref] && se.e.Ts >= start && se.e.Ts <= end {
			out[se.ref] = append(out[se.ref], se.e)
		}
	}
	return out
}

// ExemplarQuerier implements storage.ExemplarQueryable.
func (s *Store) ExemplarQuerier(_ context.Context) (storage.ExemplarQuerier, error) {
	return exemplarQuerier{s}, nil
}

type exemplarQuerier struct{ s *Store }

func (q exemplarQuerier) Select(start, end int64, matchers ...[]*labels.Matcher) ([]exemplar.QueryResult, error) {
	want := map[storage.SeriesRef]bool{}
	lsets := map[storage.SeriesRef]labels.Labels{}
	q.s.mtx.RLock()
	for _, ms := range matchers {
		for _, ref := range q.s.index.selectRefs(ms, q.s.labelsOf) {
			want[ref] = true
			lsets[ref] = q.s.byRef[ref].lset
		}
	}
	q.s.mtx.RUnlock()

	var out []exemplar.QueryResult
	for ref, es := range q.s.exemplars.inRange(want, start, end) {
		sort.SliceStable(es, func(i, j int) bool { return es[i].Ts < es[j].Ts })
		out = append(out, exemplar.QueryResult{SeriesLabels: lsets[ref], Exemplars: es})
	}
	sort.Slice(out, func(i, j int) bool { return labels.Compare(out[i].SeriesLabels, out[j].SeriesLabels) < 0 })
	return out, nil
}
