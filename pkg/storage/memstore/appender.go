package memstore

import (
	"fmt"
	"math"

	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/storage"
)

type pendingSample struct {
	series *memSeries
	s      sample
}

type pendingExemplar struct {
	series *memSeries
	e      exemplar.Exemplar
}

type appender struct {
	store     *Store
	pending   []pendingSample
	exemplars []pendingExemplar
	// lastPending is the newest sample appended but not yet committed per
	// series, so that order is checked against this batch too.
	lastPending map[*memSeries]sample
}

func (a *appender) Append(ref storage.SeriesRef, lset labels.Labels, t int64, v float64) (storage.SeriesRef, error) {
	return a.add(ref, lset, sample{t: t, v: v})
}

func (a *appender) AppendHistogram(ref storage.SeriesRef, lset labels.Labels, t int64, h *histogram.Histogram, fh *histogram.FloatHistogram) (storage.SeriesRef, error) {
	return a.appendHistogram(ref, lset, sample{t: t, h: h, fh: fh})
}

// AppendWithStartTimestamp implements storage.StartTimestampAppender.
func (a *appender) AppendWithStartTimestamp(ref storage.SeriesRef, lset labels.Labels, st, t int64, v float64, h *histogram.Histogram, fh *histogram.FloatHistogram) (storage.SeriesRef, error) {
	switch {
	case fh != nil:
		return a.appendHistogram(ref, lset, sample{t: t, st: st, fh: fh})
	case h != nil:
		return a.appendHistogram(ref, lset, sample{t: t, st: st, h: h})
	}
	return a.add(ref, lset, sample{t: t, st: st, v: v})
}

func (a *appender) appendHistogram(ref storage.SeriesRef, lset labels.Labels, s sample) (storage.SeriesRef, error) {
	h, fh := s.h, s.fh
	if (h == nil) == (fh == nil) {
		return 0, fmt.Errorf("%w: exactly one of integer and float histogram must be set", storage.ErrInvalidHistogram)
	}
	if h != nil {
		if err := h.Validate(); err != nil {
			return 0, fmt.Errorf("%w: %w", storage.ErrInvalidHistogram, err)
		}
	} else if err := fh.Validate(); err != nil {
		return 0, fmt.Errorf("%w: %w", storage.ErrInvalidHistogram, err)
	}
	return a.add(ref, lset, s)
}

// series resolves ref, or lset when ref is unknown, creating the series.
func (a *appender) series(ref storage.SeriesRef, lset labels.Labels) (*memSeries, error) {
	if ref != 0 {
		if ms := a.store.getByRef(ref); ms != nil {
			return ms, nil
		}
	}
	if lset.IsEmpty() {
		return nil, storage.ErrEmptyLabels
	}
	if name, dup := lset.HasDuplicateLabelNames(); dup {
		return nil, fmt.Errorf("%w: %q in %s", storage.ErrDuplicateLabelName, name, lset)
	}
	return a.store.getOrCreate(lset), nil
}

func (a *appender) add(ref storage.SeriesRef, lset labels.Labels, s sample) (storage.SeriesRef, error) {
	ms, err := a.series(ref, lset)
	if err != nil {
		return 0, err
	}
	last, ok := a.lastPending[ms]
	if !ok {
		ms.mtx.Lock()
		if n := len(ms.samples); n > 0 {
			last, ok = ms.samples[n-1], true
		}
		ms.mtx.Unlock()
	}
	if ok {
		if err := checkOrder(last, s); err != nil {
			return ms.ref, err
		}
		if s.t == last.t {
			return ms.ref, nil // identical repeat: nothing to store
		}
	}
	s = withReadHint(last, ok, s)
	if s.h != nil {
		// Queries read float histograms: convert once, not on every read.
		s.fh = s.h.ToFloat(nil)
	}
	if a.lastPending == nil {
		a.lastPending = map[*memSeries]sample{}
	}
	a.lastPending[ms] = s
	a.pending = append(a.pending, pendingSample{series: ms, s: s})
	return ms.ref, nil
}

// checkOrder accepts s after last, and at the same timestamp only the very
// same value (floats compared bitwise, so that NaNs and stale markers compare
// as stored).
func checkOrder(last, s sample) error {
	switch {
	case s.t < last.t:
		return storage.ErrOutOfOrderSample
	case s.t == last.t && !sameValue(last, s):
		return storage.ErrDuplicateSample
	}
	return nil
}

func sameValue(a, b sample) bool {
	switch {
	case a.valueType() != b.valueType():
		return false
	case a.h != nil:
		return a.h.Equals(b.h)
	case a.fh != nil:
		return a.fh.Equals(b.fh)
	}
	return math.Float64bits(a.v) == math.Float64bits(b.v)
}

func (a *appender) AppendExemplar(ref storage.SeriesRef, lset labels.Labels, e exemplar.Exemplar) (storage.SeriesRef, error) {
	ms, err := a.series(ref, lset)
	if err != nil {
		return 0, err
	}
	if n := e.Labels.Len(); n > 0 {
		chars := 0
		e.Labels.Range(func(l labels.Label) { chars += len([]rune(l.Name)) + len([]rune(l.Value)) })
		if chars > exemplar.ExemplarMaxLabelSetLength {
			return ms.ref, storage.ErrExemplarLabelLength
		}
	}
	if dup, err := a.store.exemplars.check(ms.ref, e); err != nil || dup {
		return ms.ref, err
	}
	a.exemplars = append(a.exemplars, pendingExemplar{series: ms, e: e})
	return ms.ref, nil
}

func (a *appender) Commit() error {
	var rejected int64
	for _, p := range a.pending {
		ms := a.store.live(p.series)
		if p.s.t > ms.lastT() {
			ms.samples = append(ms.samples, p.s)
		} else {
			rejected++
		}
		ms.mtx.Unlock()
	}
	a.store.numSamples.Add(int64(len(a.pending)) - rejected)
	a.store.rejected.Add(rejected)
	for _, p := range a.exemplars {
		a.store.exemplars.add(p.series.ref, p.e)
	}
	a.reset()
	return nil
}

func (a *appender) Rollback() error {
	a.reset()
	return nil
}

func (a *appender) reset() {
	a.pending = a.pending[:0]
	a.exemplars = a.exemplars[:0]
	clear(a.lastPending)
}
