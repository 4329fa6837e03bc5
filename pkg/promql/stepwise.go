package promql

import (
	"slices"

	"github.com/prometheus/prometheus/model/labels"
)

// stepView reads a matrix step by step, for operators that need every
// series' value at one step at a time. Each series' cursor only moves
// forward, so a full pass costs one visit per point.
type stepView struct {
	m      Matrix
	fi, hi []int
}

func newStepView(m Matrix) *stepView {
	return &stepView{m: m, fi: make([]int, len(m)), hi: make([]int, len(m))}
}

// at returns series i's value at ts, if it has one, and moves past it.
func (v *stepView) at(i int, ts int64) (f float64, h *histogramT, ok bool) {
	s := &v.m[i]
	if k := v.fi[i]; k < len(s.Floats) && s.Floats[k].T == ts {
		v.fi[i]++
		return s.Floats[k].F, nil, true
	}
	if k := v.hi[i]; k < len(s.Histograms) && s.Histograms[k].T == ts {
		v.hi[i]++
		return 0, s.Histograms[k].H, true
	}
	return 0, nil, false
}

// outputSet assembles output series step by step, keyed by labels, the
// way Prometheus does for operators evaluated per step: series with the
// same labels merge, unless both have a value at the same step.
type outputSet struct {
	steps  int
	arena  *pointArena
	index  keyIndex
	slotOf []int // output series of each key of index
	series Matrix
	last   []int // last step written per series, -1 if none
	buf    []byte
}

func newOutputSet(steps int, a *pointArena) *outputSet {
	return &outputSet{steps: steps, arena: a}
}

func (o *outputSet) slot(metric labels.Labels, dropName bool) int {
	o.buf = metric.Bytes(o.buf)
	k, isNew := o.index.index(o.buf)
	if isNew {
		o.slotOf = append(o.slotOf, o.newSlot(metric, dropName))
	}
	return o.slotOf[k]
}

// newSlot adds an output series without looking for one with the same
// labels: for callers that key their series themselves and never produce
// the same labels twice.
func (o *outputSet) newSlot(metric labels.Labels, dropName bool) int {
	if len(o.series) == cap(o.series) {
		// Double: append grows large slices by a quarter, which for
		// operators creating many series (count_values) allocates five
		// times the final size.
		n := max(len(o.series), 8)
		o.series = slices.Grow(o.series, n)
		o.last = slices.Grow(o.last, n)
	}
	o.series = append(o.series, Series{Metric: metric, dropName: dropName})
	o.last = append(o.last, -1)
	return len(o.series) - 1
}

// add appends a float at step k.
func (o *outputSet) add(metric labels.Labels, dropName bool, k int, ts int64, f float64) error {
	return o.addAt(o.slot(metric, dropName), k, ts, f)
}

// addAt appends a float at step k to output series i.
func (o *outputSet) addAt(i, k int, ts int64, f float64) error {
	if o.last[i] == k {
		return errDuplicateLabelset
	}
	o.last[i] = k
	o.appendFloat(i, k, FPoint{T: ts, F: f})
	return nil
}

// appendFloat and appendHistogram grow slices from the arena; a series can
// get at most one point per remaining step.
func (o *outputSet) appendFloat(i, k int, p FPoint) {
	s := &o.series[i]
	s.Floats = append(o.arena.growFloats(s.Floats, len(s.Floats)+o.steps-k), p)
}

func (o *outputSet) appendHistogram(i, k int, p HPoint) {
	s := &o.series[i]
	s.Histograms = append(o.arena.growHists(s.Histograms, len(s.Histograms)+o.steps-k), p)
}

// addHistogram appends a histogram at step k.
func (o *outputSet) addHistogram(metric labels.Labels, dropName bool, k int, ts int64, h *histogramT) error {
	i := o.slot(metric, dropName)
	if o.last[i] == k {
		return errDuplicateLabelset
	}
	o.last[i] = k
	o.appendHistogram(i, k, HPoint{T: ts, H: h})
	return nil
}

// addSampleAt appends a value to the series in slot i at step k.
func (o *outputSet) addSampleAt(i, k int, ts int64, f float64, h *histogramT) error {
	if o.last[i] == k {
		return errDuplicateLabelset
	}
	o.last[i] = k
	if h != nil {
		o.appendHistogram(i, k, HPoint{T: ts, H: h})
	} else {
		o.appendFloat(i, k, FPoint{T: ts, F: f})
	}
	return nil
}

// addSample appends whichever value a sample carries.
func (o *outputSet) addSample(metric labels.Labels, dropName bool, k int, ts int64, f float64, h *histogramT) error {
	if h != nil {
		return o.addHistogram(metric, dropName, k, ts, h)
	}
	return o.add(metric, dropName, k, ts, f)
}

// result returns the series that received at least one value.
func (o *outputSet) result() Matrix {
	if o.series == nil {
		return Matrix{}
	}
	return compactEmpty(o.series)
}
