package memstore

import (
	"fmt"
	"math"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/storage"
)

type pendingSample struct {
	series *memSeries
	t      int64
	v      float64
}

type appender struct {
	store   *Store
	pending []pendingSample
	// lastPending is the newest timestamp appended but not yet committed per
	// series, so that order is checked against this batch too.
	lastPending map[*memSeries]pendingSample
}

func (a *appender) Append(ref storage.SeriesRef, lset labels.Labels, t int64, v float64) (storage.SeriesRef, error) {
	var ms *memSeries
	if ref != 0 {
		ms = a.store.getByRef(ref)
	}
	if ms == nil {
		if lset.IsEmpty() {
			return 0, storage.ErrEmptyLabels
		}
		if name, dup := lset.HasDuplicateLabelNames(); dup {
			return 0, fmt.Errorf("%w: %q in %s", storage.ErrDuplicateLabelName, name, lset)
		}
		ms = a.store.getOrCreate(lset)
	}

	last, ok := a.lastPending[ms]
	if !ok {
		ms.mtx.Lock()
		if n := len(ms.samples); n > 0 {
			last = pendingSample{t: ms.samples[n-1].t, v: ms.samples[n-1].v}
			ok = true
		}
		ms.mtx.Unlock()
	}
	if ok {
		if err := checkOrder(last.t, last.v, t, v); err != nil {
			return ms.ref, err
		}
		if t == last.t {
			return ms.ref, nil // identical repeat: nothing to store
		}
	}

	if a.lastPending == nil {
		a.lastPending = map[*memSeries]pendingSample{}
	}
	p := pendingSample{series: ms, t: t, v: v}
	a.lastPending[ms] = p
	a.pending = append(a.pending, p)
	return ms.ref, nil
}

// checkOrder accepts t after lastT, and t == lastT only with the very same value
// (compared bitwise, so that NaNs and stale markers compare as stored).
func checkOrder(lastT int64, lastV float64, t int64, v float64) error {
	switch {
	case t < lastT:
		return storage.ErrOutOfOrderSample
	case t == lastT && math.Float64bits(v) != math.Float64bits(lastV):
		return storage.ErrDuplicateSample
	}
	return nil
}

func (a *appender) Commit() error {
	var rejected int64
	for _, p := range a.pending {
		ms := p.series
		ms.mtx.Lock()
		for ms.removed {
			// Truncate dropped the series (still empty) between Append
			// and Commit: write to the live series of the same labels.
			ms.mtx.Unlock()
			ms = a.store.getOrCreate(ms.lset)
			ms.mtx.Lock()
		}
		if p.t > ms.lastT() {
			ms.samples = append(ms.samples, sample{t: p.t, v: p.v})
		} else {
			rejected++
		}
		ms.mtx.Unlock()
	}
	a.store.numSamples.Add(int64(len(a.pending)) - rejected)
	a.store.rejected.Add(rejected)
	a.reset()
	return nil
}

func (a *appender) Rollback() error {
	a.reset()
	return nil
}

func (a *appender) reset() {
	a.pending = a.pending[:0]
	clear(a.lastPending)
}
