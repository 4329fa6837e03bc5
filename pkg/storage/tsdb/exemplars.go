package tsdb

import (
	"maps"
	"sync"

	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/storage"
)

// DefaultMaxExemplars bounds the exemplars kept in memory; the oldest go first.
const DefaultMaxExemplars = 100_000

type storedExemplar struct {
	ref uint64
	e   exemplar.Exemplar
}

// exemplarRing keeps the newest exemplars of all series in a fixed-size
// circular buffer, so that memory stays bounded however many arrive. They
// are logged to the WAL with the samples and kept across checkpoints.
type exemplarRing struct {
	mtx  sync.RWMutex
	max  int
	buf  []storedExemplar // grows to max, then wraps
	next int
	full bool
	// last is the newest exemplar per series, for order and duplicate checks.
	last map[uint64]exemplar.Exemplar
	// orphans are the labels of series the head dropped (their samples all
	// in blocks) whose exemplars are still held, so that they stay
	// queryable until the ring evicts them.
	orphans map[uint64]labels.Labels
}

func newExemplarRing(size int) *exemplarRing {
	if size <= 0 {
		size = DefaultMaxExemplars
	}
	return &exemplarRing{max: size, last: map[uint64]exemplar.Exemplar{}, orphans: map[uint64]labels.Labels{}}
}

// check says whether e may follow the series' newest exemplar: an exact
// repeat is skipped (dup), an older one refused.
func (r *exemplarRing) check(ref uint64, e exemplar.Exemplar) (dup bool, err error) {
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

func (r *exemplarRing) add(ref uint64, e exemplar.Exemplar) {
	if dup, err := r.check(ref, e); dup || err != nil {
		return
	}
	r.mtx.Lock()
	defer r.mtx.Unlock()
	if len(r.buf) < r.max {
		r.buf = append(r.buf, storedExemplar{ref: ref, e: e})
		r.last[ref] = e
		r.full = len(r.buf) == r.max // from now on, next is the oldest
		return
	}
	if old := r.buf[r.next]; r.full && r.last[old.ref].Equals(old.e) {
		delete(r.last, old.ref) // the series' newest exemplar is being evicted
		delete(r.orphans, old.ref)
	}
	r.buf[r.next] = storedExemplar{ref: ref, e: e}
	r.last[ref] = e
	r.next = (r.next + 1) % len(r.buf)
	if r.next == 0 {
		r.full = true
	}
}

// each calls f for every exemplar, oldest first.
func (r *exemplarRing) each(f func(ref uint64, e exemplar.Exemplar)) {
	r.mtx.RLock()
	defer r.mtx.RUnlock()
	n, first := len(r.buf), 0
	if r.full {
		first = r.next
	}
	for i := range n {
		se := r.buf[(first+i)%len(r.buf)]
		f(se.ref, se.e)
	}
}

// inRange returns the exemplars of the wanted series within [start, end].
func (r *exemplarRing) inRange(want map[uint64]bool, start, end int64) map[uint64][]exemplar.Exemplar {
	out := map[uint64][]exemplar.Exemplar{}
	r.each(func(ref uint64, e exemplar.Exemplar) {
		if want[ref] && e.Ts >= start && e.Ts <= end {
			out[ref] = append(out[ref], e)
		}
	})
	return out
}

// orphan keeps the labels of a series the head drops, if it has exemplars.
func (r *exemplarRing) orphan(ref uint64, lset labels.Labels) {
	r.mtx.Lock()
	defer r.mtx.Unlock()
	if _, ok := r.last[ref]; ok {
		r.orphans[ref] = lset
	}
}

// orphanLabels returns the labels of the dropped series with exemplars.
func (r *exemplarRing) orphanLabels() map[uint64]labels.Labels {
	r.mtx.RLock()
	defer r.mtx.RUnlock()
	return maps.Clone(r.orphans)
}
