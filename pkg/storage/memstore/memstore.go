// Package memstore is an in-memory implementation of storage.Storage: series
// held as plain sample slices behind an inverted index. It is the foundation's
// store, honest but not persistent; the TSDB replaces it behind the same
// interfaces.
package memstore

import (
	"context"
	"math"
	"sync"
	"sync/atomic"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/storage"
)

// sample is a float sample, or a native histogram sample: an integer one
// when h is set (then fh holds its float form, for reads), a float one when
// only fh is.
type sample struct {
	t  int64
	st int64 // start timestamp, 0 when unknown
	v  float64
	h  *histogram.Histogram
	fh *histogram.FloatHistogram
}

func (s sample) valueType() storage.ValueType {
	switch {
	case s.h != nil:
		return storage.ValHistogram
	case s.fh != nil:
		return storage.ValFloatHistogram
	}
	return storage.ValFloat
}

type memSeries struct {
	ref  storage.SeriesRef
	lset labels.Labels

	mtx     sync.Mutex
	samples []sample // sorted by t; only ever appended to or replaced whole
	// removed is set when Truncate drops the series from the index; a commit
	// that still holds it re-resolves the labels to a live series.
	removed bool
}

// lastT returns the newest timestamp, or math.MinInt64 when empty. Callers hold mtx.
func (s *memSeries) lastT() int64 {
	if len(s.samples) == 0 {
		return math.MinInt64
	}
	return s.samples[len(s.samples)-1].t
}

// Store holds series in memory. The zero value is not usable; call New.
type Store struct {
	mtx    sync.RWMutex
	hashes map[uint64][]*memSeries
	byRef  map[storage.SeriesRef]*memSeries
	index  *postingsIndex
	next   storage.SeriesRef

	exemplars *exemplarRing

	numSamples atomic.Int64
	// rejected counts samples dropped at commit time because a concurrent
	// appender committed a newer sample of the same series first.
	rejected atomic.Int64
}

// New returns an empty store.
func New() *Store {
	return &Store{
		hashes:    map[uint64][]*memSeries{},
		byRef:     map[storage.SeriesRef]*memSeries{},
		index:     newPostingsIndex(),
		exemplars: newExemplarRing(DefaultMaxExemplars),
	}
}

// Appender implements storage.Appendable.
func (s *Store) Appender(_ context.Context) storage.Appender {
	return &appender{store: s}
}

// Querier implements storage.Queryable.
func (s *Store) Querier(mint, maxt int64) (storage.Querier, error) {
	return &querier{store: s, mint: mint, maxt: maxt}, nil
}

// Stats implements storage.Storage.
func (s *Store) Stats() storage.Stats {
	s.mtx.RLock()
	all := make([]*memSeries, 0, len(s.byRef))
	for _, ms := range s.byRef {
		all = append(all, ms)
	}
	s.mtx.RUnlock()

	st := storage.Stats{NumSeries: uint64(len(all)), NumSamples: uint64(s.numSamples.Load())}
	first := true
	for _, ms := range all {
		ms.mtx.Lock()
		if n := len(ms.samples); n > 0 {
			lo, hi := ms.samples[0].t, ms.samples[n-1].t
			if first || lo < st.MinTime {
				st.MinTime = lo
			}
			if first || hi > st.MaxTime {
				st.MaxTime = hi
			}
			first = false
		}
		ms.mtx.Unlock()
	}
	return st
}

// RejectedSamples returns how many samples were dropped at commit because a
// concurrent appender had committed a newer sample of the same series.
func (s *Store) RejectedSamples() int64 { return s.rejected.Load() }

// Close implements storage.Storage.
func (s *Store) Close() error { return nil }

// live returns ms, or the series that replaced it if Truncate dropped it
// (still empty) between Append and Commit, with its mutex held.
func (s *Store) live(ms *memSeries) *memSeries {
	ms.mtx.Lock()
	for ms.removed {
		ms.mtx.Unlock()
		ms = s.getOrCreate(ms.lset)
		ms.mtx.Lock()
	}
	return ms
}

// getByRef returns the series for ref, or nil.
func (s *Store) getByRef(ref storage.SeriesRef) *memSeries {
	s.mtx.RLock()
	defer s.mtx.RUnlock()
	return s.byRef[ref]
}

// getOrCreate returns the series with exactly lset, creating it if needed.
func (s *Store) getOrCreate(lset labels.Labels) *memSeries {
	h := lset.Hash()
	s.mtx.RLock()
	ms := s.lookup(h, lset)
	s.mtx.RUnlock()
	if ms != nil {
		return ms
	}

	s.mtx.Lock()
	defer s.mtx.Unlock()
	if ms := s.lookup(h, lset); ms != nil {
		return ms
	}
	s.next++
	ms = &memSeries{ref: s.next, lset: lset.Copy()}
	s.hashes[h] = append(s.hashes[h], ms)
	s.byRef[ms.ref] = ms
	s.index.add(ms.ref, ms.lset)
	return ms
}

// labelsOf returns the labels of the series ref. Callers hold mtx.
func (s *Store) labelsOf(ref storage.SeriesRef) labels.Labels { return s.byRef[ref].lset }

// lookup finds a series by hash and labels. Callers hold mtx.
func (s *Store) lookup(h uint64, lset labels.Labels) *memSeries {
	for _, ms := range s.hashes[h] {
		if labels.Equal(ms.lset, lset) {
			return ms
		}
	}
	return nil
}

// Truncate drops every sample older than mint and forgets series left empty.
// The core calls it to enforce retention.
func (s *Store) Truncate(mint int64) {
	s.mtx.RLock()
	all := make([]*memSeries, 0, len(s.byRef))
	for _, ms := range s.byRef {
		all = append(all, ms)
	}
	s.mtx.RUnlock()

	var empty []*memSeries
	for _, ms := range all {
		ms.mtx.Lock()
		i := 0
		for i < len(ms.samples) && ms.samples[i].t < mint {
			i++
		}
		if i > 0 {
			// Replace rather than reslice in place: open queriers keep
			// reading the old backing array.
			ms.samples = append([]sample(nil), ms.samples[i:]...)
			s.numSamples.Add(int64(-i))
		}
		if len(ms.samples) == 0 {
			empty = append(empty, ms)
		}
		ms.mtx.Unlock()
	}
	s.removeSeries(empty)
}

func (s *Store) removeSeries(list []*memSeries) {
	if len(list) == 0 {
		return
	}
	s.mtx.Lock()
	defer s.mtx.Unlock()
	gone := map[storage.SeriesRef]struct{}{}
	for _, ms := range list {
		ms.mtx.Lock()
		stillEmpty := len(ms.samples) == 0
		if stillEmpty {
			ms.removed = true
		}
		ms.mtx.Unlock()
		if !stillEmpty {
			continue // an appender filled it meanwhile
		}
		gone[ms.ref] = struct{}{}
		delete(s.byRef, ms.ref)
		h := ms.lset.Hash()
		kept := s.hashes[h][:0]
		for _, o := range s.hashes[h] {
			if o != ms {
				kept = append(kept, o)
			}
		}
		if len(kept) == 0 {
			delete(s.hashes, h)
		} else {
			s.hashes[h] = kept
		}
	}
	s.index.remove(gone)
}

// CardinalityStats implements storage.CardinalityStatter from the store's
// postings. The store keeps samples, not chunks: ChunkCount is 0.
func (s *Store) CardinalityStats(ctx context.Context, limit int) (storage.CardinalityStats, error) {
	stats := s.Stats()
	s.mtx.RLock()
	st := storage.CardinalityLists(limit, func(yield func(name, value string, series uint64)) {
		for name, vals := range s.index.m {
			for value, refs := range vals {
				yield(name, value, uint64(len(refs)))
			}
		}
	})
	s.mtx.RUnlock()
	st.Head = storage.HeadStats{NumSeries: stats.NumSeries, NumLabelPairs: st.Head.NumLabelPairs, MinTime: stats.MinTime, MaxTime: stats.MaxTime}
	return st, ctx.Err()
}
