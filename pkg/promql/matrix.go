package promql

import (
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/util/annotations"

	"github.com/graftlabs/graft/pkg/storage"
)

// evalMatrixSelector evaluates a range vector at the root of an instant
// query (the parser allows range vectors nowhere else outside function
// arguments). Samples keep their own timestamps.
func (ev *evaluator) evalMatrixSelector(ms *parser.MatrixSelector) (rangeValue, error) {
	if !ev.instant() {
		return nil, errors.New("cannot do range evaluation of matrix selector")
	}
	vs := ms.VectorSelector.(*parser.VectorSelector)
	series, _, err := ev.seriesFor(vs)
	if err != nil {
		return nil, err
	}
	lookback := ev.plan.lookback
	maxt := refTime(vs, ev.start)
	mint := maxt - ms.Range.Milliseconds()
	rangeStart, rangeEnd := mint, maxt
	switch {
	case vs.Anchored:
		mint -= lookback
	case vs.Smoothed:
		mint -= lookback
		maxt += lookback
	}
	out := make(Matrix, 0, len(series))
	var (
		it  storage.Iterator
		cur cursor
	)
	for _, s := range series {
		if err := ev.checkCtx(); err != nil {
			return nil, err
		}
		it = s.Iterator(it)
		cur.reset(it, false)
		var win window // fresh: the result keeps its histograms
		win.fill(&cur, mint, maxt)
		if err := it.Err(); err != nil {
			return nil, fmt.Errorf("reading series %s: %w", s.Labels(), err)
		}
		res := Series{Metric: s.Labels(), Floats: slices.Clone(win.floats), Histograms: win.hists}
		if vs.Anchored || vs.Smoothed {
			if len(res.Histograms) > 0 {
				modifier := "anchored"
				if vs.Smoothed {
					modifier = "smoothed"
				}
				return nil, fmt.Errorf("%s modifier is not supported with histograms", modifier)
			}
			res.Floats = extendFloats(res.Floats, rangeStart, rangeEnd, vs.Smoothed)
		}
		if !res.empty() {
			out = append(out, res)
		}
	}
	pts := Matrix(out).points()
	ev.budget.countRead(pts)
	return rangeValue(out), ev.budget.add(pts)
}

// extendFloats gives an anchored or smoothed range vector points exactly at
// its edges: the sample at or before the start (interpolated when smoothed),
// the samples inside, and the value at the end.
func extendFloats(floats []FPoint, mint, maxt int64, smoothed bool) []FPoint {
	if len(floats) == 0 {
		return floats
	}
	last := len(floats) - 1
	first := max(0, sort.Search(last, func(i int) bool { return floats[i].T > mint })-1)
	if smoothed {
		last = sort.Search(last, func(i int) bool { return floats[i].T >= maxt })
	}
	if floats[last].T <= mint {
		return []FPoint{}
	}
	left := pickOrInterpolateLeft(floats, first, mint, smoothed, false)
	right := pickOrInterpolateRight(floats, last, maxt, smoothed, false)
	if floats[first].T <= mint {
		first++
	}
	if floats[last].T >= maxt {
		last--
	}
	out := make([]FPoint, 0, max(last-first+1, 0)+2)
	out = append(out, FPoint{T: mint, F: left})
	if first <= last {
		out = append(out, floats[first:last+1]...)
	}
	return append(out, FPoint{T: maxt, F: right})
}

// smoothSelector evaluates an instant selector with the smoothed modifier:
// the value at each step is interpolated between the samples around it.
func (ev *evaluator) smoothSelector(vs *parser.VectorSelector, series []storage.Series) (Matrix, error) {
	lookback := ev.plan.lookback
	out := make(Matrix, 0, len(series))
	var (
		it  storage.Iterator
		cur cursor
		win window
	)
	for _, s := range series {
		if err := ev.checkCtx(); err != nil {
			return nil, err
		}
		it = s.Iterator(it)
		cur.reset(it, false)
		win.reset(false)
		res := Series{Metric: s.Labels()}
		name := s.Labels().Get(labels.MetricName)
		for k := range ev.steps {
			ts := ev.ts(k)
			at := refTime(vs, ts)
			win.fill(&cur, at-lookback, at+lookback)
			if win.empty() {
				continue
			}
			if len(win.hists) > 0 && len(win.floats) > 0 {
				ev.warn(annotations.NewMixedFloatsHistogramsWarning(name, vs.PositionRange()))
				continue
			}
			if len(win.hists) > 0 {
				if h := ev.smoothHistogram(win.hists, at, name, vs); h != nil {
					res.Histograms = append(res.Histograms, HPoint{T: ts, H: h})
				}
				continue
			}
			if f, ok := smoothFloat(win.floats, at); ok {
				res.Floats = append(res.Floats, FPoint{T: ts, F: f})
			}
		}
		if err := it.Err(); err != nil {
			return nil, fmt.Errorf("reading series %s: %w", s.Labels(), err)
		}
		if !res.empty() {
			out = append(out, res)
		}
	}
	return out, ev.budget.add(out.points())
}

// smoothFloat is the value at t: the sample there, or the line between the
// samples around t, or the last sample before t when none follows.
func smoothFloat(f []FPoint, t int64) (float64, bool) {
	i := sort.Search(len(f), func(i int) bool { return f[i].T >= t })
	switch {
	case i < len(f) && f[i].T == t:
		return f[i].F, true
	case i > 0 && i < len(f):
		return interpolate(f[i-1], f[i], t, false), true
	case i > 0:
		return f[i-1].F, true
	}
	return 0, false
}

func (ev *evaluator) smoothHistogram(h []HPoint, t int64, name string, vs *parser.VectorSelector) *histogram.FloatHistogram {
	i := sort.Search(len(h), func(i int) bool { return h[i].T >= t })
	switch {
	case i < len(h) && h[i].T == t:
		return h[i].H.Copy()
	case i > 0 && i < len(h):
		prev, next := h[i-1], h[i]
		if prev.H.UsesCustomBuckets() != next.H.UsesCustomBuckets() {
			ev.warn(annotations.NewMixedExponentialCustomHistogramsWarning(name, vs.PositionRange()))
			return nil
		}
		isCounter := prev.H.CounterResetHint != histogram.GaugeType || next.H.CounterResetHint != histogram.GaugeType
		var annos annotations.Annotations
		step := &rangeStep{pos: vs.PositionRange(), annos: &annos, metric: labels.FromStrings(labels.MetricName, name)}
		res, err := interpolateHistograms(prev.H, prev.T, next.H, next.T, t, isCounter, step)
		ev.annotate(annos)
		if err != nil {
			interpolationError(step, err)
			ev.annotate(annos)
			return nil
		}
		return res
	case i > 0:
		res := h[i-1].H.Copy()
		res.CounterResetHint = histogram.UnknownCounterReset
		return res
	}
	return nil
}
