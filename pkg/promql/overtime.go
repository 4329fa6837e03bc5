package promql

import (
	"fmt"
	"math"
	"sort"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/util/annotations"
	"github.com/prometheus/prometheus/util/kahansum"
)

// The *_over_time functions and the other range functions that look at
// every sample of a window.

func kernelAvgOverTime(s *rangeStep) (float64, *histogram.FloatHistogram, bool) {
	if len(s.floats) > 0 && len(s.hists) > 0 {
		s.annos.Add(annotations.NewMixedFloatsHistogramsWarning(s.metricName(), s.pos))
		return 0, nil, false
	}
	if len(s.floats) == 0 {
		h, err := avgHistograms(s)
		if err != nil {
			if incompatibleSchema(err) {
				s.annos.Add(annotations.NewMixedExponentialCustomHistogramsWarning(s.metricName(), s.pos))
				return 0, nil, false
			}
		}
		return 0, h, true
	}
	var m meanAcc
	for _, p := range s.floats {
		m.add(p.F)
	}
	return m.value(), nil, true
}

// meanAcc computes a mean the way Prometheus does: a Kahan-compensated sum
// divided by the count, switching to an incremental mean only if the sum
// would overflow.
type meanAcc struct {
	sum, c, mean, count float64
	incremental         bool
}

func (a *meanAcc) add(f float64) {
	a.count++
	if a.count == 1 {
		a.sum = f
		return
	}
	if !a.incremental {
		sum, c := kahansum.Inc(f, a.sum, a.c)
		if !math.IsInf(sum, 0) {
			a.sum, a.c = sum, c
			return
		}
		a.incremental = true
		a.mean = a.sum / (a.count - 1)
		a.c /= a.count - 1
	}
	q := (a.count - 1) / a.count
	a.mean, a.c = kahansum.Inc(f/a.count, q*a.mean, q*a.c)
}

func (a *meanAcc) value() float64 {
	if a.incremental {
		return a.mean + a.c
	}
	return a.sum/a.count + a.c/a.count
}

// counterResetTracker notes the counter reset hints of aggregated
// histograms: both kinds at once earn a warning.
type counterResetTracker struct{ reset, notReset bool }

func (t *counterResetTracker) see(h *histogram.FloatHistogram) {
	switch h.CounterResetHint {
	case histogram.CounterReset:
		t.reset = true
	case histogram.NotCounterReset:
		t.notReset = true
	}
}

func (t *counterResetTracker) collision() bool { return t.reset && t.notReset }

// histogramAggAnnotations reports what aggregating a window of histograms
// ran into: counter reset hints that disagree, custom buckets reconciled.
func (s *rangeStep) histogramAggAnnotations(crt *counterResetTracker, reconciled bool) {
	if crt.collision() {
		s.annos.Add(annotations.NewHistogramCounterResetCollisionWarning(s.pos, annotations.HistogramAgg))
	}
	if reconciled {
		s.annos.Add(annotations.NewMismatchedCustomBucketsHistogramsInfo(s.pos, annotations.HistogramAgg))
	}
}

func avgHistograms(s *rangeStep) (*histogram.FloatHistogram, error) {
	var (
		crt        counterResetTracker
		reconciled bool
	)
	defer func() { s.histogramAggAnnotations(&crt, reconciled) }()
	var (
		sum         = s.hists[0].H.Copy()
		mean, c     *histogram.FloatHistogram
		count       = 1.0
		incremental bool
	)
	crt.see(sum)
	for i, p := range s.hists[1:] {
		crt.see(p.H)
		count = float64(i + 2)
		if !incremental {
			sumCopy := sum.Copy()
			var cCopy *histogram.FloatHistogram
			if c != nil {
				cCopy = c.Copy()
			}
			var rec bool
			var err error
			cCopy, _, rec, err = sumCopy.KahanAdd(p.H, cCopy)
			if err != nil {
				return sumCopy.Div(count), err
			}
			reconciled = reconciled || rec
			if !sumCopy.HasOverflow() {
				sum, c = sumCopy, cCopy
				continue
			}
			incremental = true
			mean = sum.Copy().Div(count - 1)
			if c != nil {
				c.Div(count - 1)
			}
		}
		q := (count - 1) / count
		if c != nil {
			c.Mul(q)
		}
		toAdd := p.H.Copy().Div(count)
		var rec bool
		var err error
		c, _, rec, err = mean.Mul(q).KahanAdd(toAdd, c)
		if err != nil {
			return mean, err
		}
		reconciled = reconciled || rec
	}
	if incremental {
		if c != nil {
			_, _, _, err := mean.Add(c)
			return mean, err
		}
		return mean, nil
	}
	if c != nil {
		_, _, _, err := sum.Div(count).Add(c.Div(count))
		return sum, err
	}
	return sum.Div(count), nil
}

func kernelSumOverTime(s *rangeStep) (float64, *histogram.FloatHistogram, bool) {
	if len(s.floats) > 0 && len(s.hists) > 0 {
		s.annos.Add(annotations.NewMixedFloatsHistogramsWarning(s.metricName(), s.pos))
		return 0, nil, false
	}
	if len(s.floats) == 0 {
		h, err := sumHistograms(s)
		if incompatibleSchema(err) {
			s.annos.Add(annotations.NewMixedExponentialCustomHistogramsWarning(s.metricName(), s.pos))
			return 0, nil, false
		}
		return 0, h, true
	}
	var sum, c float64
	for _, p := range s.floats {
		sum, c = kahansum.Inc(p.F, sum, c)
	}
	if math.IsInf(sum, 0) {
		return sum, nil, true
	}
	return sum + c, nil, true
}

func sumHistograms(s *rangeStep) (*histogram.FloatHistogram, error) {
	var (
		crt        counterResetTracker
		reconciled bool
	)
	defer func() { s.histogramAggAnnotations(&crt, reconciled) }()
	sum := s.hists[0].H.Copy()
	crt.see(sum)
	var c *histogram.FloatHistogram
	for _, p := range s.hists[1:] {
		crt.see(p.H)
		var rec bool
		var err error
		c, _, rec, err = sum.KahanAdd(p.H, c)
		if err != nil {
			return sum, err
		}
		reconciled = reconciled || rec
	}
	if c != nil {
		var rec bool
		var err error
		sum, _, rec, err = sum.Add(c)
		reconciled = reconciled || rec
		return sum, err
	}
	return sum, nil
}

// floatsOnly returns ok=false when the window has no floats and, when it
// also has histograms, notes that they were ignored.
func floatsOnly(s *rangeStep) bool {
	if len(s.floats) == 0 {
		return false
	}
	if len(s.hists) > 0 {
		s.annos.Add(annotations.NewHistogramIgnoredInMixedRangeInfo(s.metricName(), s.pos))
	}
	return true
}

// compareOverTime returns the value (or its timestamp) that wins the
// comparison better(candidate, best) over the window's floats.
func compareOverTime(s *rangeStep, better func(cur, best float64) bool, timestamp bool) (float64, *histogram.FloatHistogram, bool) {
	if !floatsOnly(s) {
		return 0, nil, false
	}
	best, bestT := s.floats[0].F, s.floats[0].T
	for _, p := range s.floats {
		if better(p.F, best) {
			best, bestT = p.F, p.T
		}
	}
	if timestamp {
		return float64(bestT) / 1000, nil, true
	}
	return best, nil, true
}

func kernelMaxOverTime(s *rangeStep) (float64, *histogram.FloatHistogram, bool) {
	return compareOverTime(s, func(cur, best float64) bool { return cur > best || math.IsNaN(best) }, false)
}

func kernelMinOverTime(s *rangeStep) (float64, *histogram.FloatHistogram, bool) {
	return compareOverTime(s, func(cur, best float64) bool { return cur < best || math.IsNaN(best) }, false)
}

func kernelTsOfMaxOverTime(s *rangeStep) (float64, *histogram.FloatHistogram, bool) {
	return compareOverTime(s, func(cur, best float64) bool { return cur >= best || math.IsNaN(best) }, true)
}

func kernelTsOfMinOverTime(s *rangeStep) (float64, *histogram.FloatHistogram, bool) {
	return compareOverTime(s, func(cur, best float64) bool { return cur <= best || math.IsNaN(best) }, true)
}

func kernelCountOverTime(s *rangeStep) (float64, *histogram.FloatHistogram, bool) {
	return float64(len(s.floats) + len(s.hists)), nil, true
}

func kernelPresentOverTime(*rangeStep) (float64, *histogram.FloatHistogram, bool) {
	return 1, nil, true
}

func kernelLastOverTime(s *rangeStep) (float64, *histogram.FloatHistogram, bool) {
	nf, nh := len(s.floats), len(s.hists)
	if nh == 0 || (nf > 0 && s.hists[nh-1].T < s.floats[nf-1].T) {
		return s.floats[nf-1].F, nil, true
	}
	return 0, s.hists[nh-1].H.Copy(), true
}

func kernelFirstOverTime(s *rangeStep) (float64, *histogram.FloatHistogram, bool) {
	if len(s.hists) == 0 || (len(s.floats) > 0 && s.floats[0].T < s.hists[0].T) {
		return s.floats[0].F, nil, true
	}
	return 0, s.hists[0].H.Copy(), true
}

func kernelTsOfFirstOverTime(s *rangeStep) (float64, *histogram.FloatHistogram, bool) {
	t := int64(math.MaxInt64)
	if len(s.floats) > 0 {
		t = s.floats[0].T
	}
	if len(s.hists) > 0 {
		t = min(t, s.hists[0].T)
	}
	return float64(t) / 1000, nil, true
}

func kernelTsOfLastOverTime(s *rangeStep) (float64, *histogram.FloatHistogram, bool) {
	var t int64
	if n := len(s.floats); n > 0 {
		t = s.floats[n-1].T
	}
	if n := len(s.hists); n > 0 {
		t = max(t, s.hists[n-1].T)
	}
	return float64(t) / 1000, nil, true
}

func kernelStddevOverTime(s *rangeStep) (float64, *histogram.FloatHistogram, bool) {
	v, _, ok := kernelStdvarOverTime(s)
	return math.Sqrt(v), nil, ok
}

func kernelStdvarOverTime(s *rangeStep) (float64, *histogram.FloatHistogram, bool) {
	if !floatsOnly(s) {
		return 0, nil, false
	}
	var count, mean, cMean, aux, cAux float64
	for _, p := range s.floats {
		count++
		delta := p.F - (mean + cMean)
		mean, cMean = kahansum.Inc(delta/count, mean, cMean)
		aux, cAux = kahansum.Inc(delta*(p.F-(mean+cMean)), aux, cAux)
	}
	return (aux + cAux) / count, nil, true
}

func kernelQuantileOverTime(s *rangeStep) (float64, *histogram.FloatHistogram, bool) {
	if len(s.floats) == 0 {
		return 0, nil, false
	}
	q := s.params[0]
	if math.IsNaN(q) || q < 0 || q > 1 {
		s.annos.Add(annotations.NewInvalidQuantileWarning(q, s.pos))
	}
	if len(s.hists) > 0 {
		s.annos.Add(annotations.NewHistogramIgnoredInMixedRangeInfo(s.metricName(), s.pos))
	}
	values := make([]float64, len(s.floats))
	for i, p := range s.floats {
		values[i] = p.F
	}
	return quantile(q, values), nil, true
}

func kernelMadOverTime(s *rangeStep) (float64, *histogram.FloatHistogram, bool) {
	if !floatsOnly(s) {
		return 0, nil, false
	}
	values := make([]float64, len(s.floats))
	for i, p := range s.floats {
		if math.IsNaN(p.F) {
			return math.NaN(), nil, true
		}
		values[i] = p.F
	}
	median := quantile(0.5, values)
	for i := range values {
		values[i] = math.Abs(values[i] - median)
	}
	return quantile(0.5, values), nil, true
}

// anchoredStart returns the indexes of the first float and histogram an
// anchored window starts from: the newest sample at or before the range
// start (of either kind) and everything after it. found is false when no
// sample lies after the range start.
func anchoredStart(s *rangeStep) (firstF, firstH int, found bool) {
	if !s.anchored {
		return 0, 0, true
	}
	f, h := s.floats, s.hists
	lastF := sort.Search(len(f), func(i int) bool { return f[i].T > s.rangeStart }) - 1
	lastH := sort.Search(len(h), func(i int) bool { return h[i].T > s.rangeStart }) - 1
	if lastF+1 >= len(f) && lastH+1 >= len(h) {
		return 0, 0, false
	}
	switch {
	case lastF < 0 && lastH < 0:
		return 0, 0, true
	case lastH < 0 || (lastF >= 0 && f[lastF].T >= h[lastH].T):
		return lastF, lastH + 1, true
	default:
		return lastF + 1, lastH, true
	}
}

// mixedSample is one sample of a window that may mix floats and histograms.
type mixedSample struct {
	t, st int64
	f     float64
	h     *histogram.FloatHistogram
}

// walkMixed visits the window's samples in time order from the given
// indexes.
func walkMixed(s *rangeStep, fi, hi int, visit func(cur mixedSample)) {
	for fi < len(s.floats) || hi < len(s.hists) {
		var cur mixedSample
		if hi >= len(s.hists) || (fi < len(s.floats) && s.floats[fi].T < s.hists[hi].T) {
			cur = mixedSample{t: s.floats[fi].T, f: s.floats[fi].F}
			if fi < len(s.fST) {
				cur.st = s.fST[fi]
			}
			fi++
		} else {
			cur = mixedSample{t: s.hists[hi].T, h: s.hists[hi].H}
			if hi < len(s.hST) {
				cur.st = s.hST[hi]
			}
			hi++
		}
		visit(cur)
	}
}

func kernelResets(s *rangeStep) (float64, *histogram.FloatHistogram, bool) {
	fi, hi, found := anchoredStart(s)
	if !found {
		return 0, nil, false
	}
	if len(s.hists) == 0 && len(s.fST) == 0 {
		return float64(floatResets(s.floats[fi:])), nil, true
	}
	resets, first := 0, true
	var prev mixedSample
	walkMixed(s, fi, hi, func(cur mixedSample) {
		if first {
			prev, first = cur, false
			return
		}
		switch {
		case prev.h == nil && cur.h == nil:
			if cur.f < prev.f || isStartTimestampReset(prev.st, prev.t, cur.st, cur.t) {
				resets++
			}
		case prev.h == nil || cur.h == nil:
			resets++
		default:
			if isStartTimestampReset(prev.st, prev.t, cur.st, cur.t) || cur.h.DetectReset(prev.h) {
				resets++
			}
		}
		prev = cur
	})
	return float64(resets), nil, true
}

func kernelChanges(s *rangeStep) (float64, *histogram.FloatHistogram, bool) {
	fi, hi, found := anchoredStart(s)
	if !found {
		return 0, nil, false
	}
	if len(s.hists) == 0 {
		return float64(floatChanges(s.floats[fi:])), nil, true
	}
	changes, first := 0, true
	var prev mixedSample
	walkMixed(s, fi, hi, func(cur mixedSample) {
		if first {
			prev, first = cur, false
			return
		}
		switch {
		case prev.h == nil && cur.h == nil:
			if cur.f != prev.f && !(math.IsNaN(cur.f) && math.IsNaN(prev.f)) {
				changes++
			}
		case prev.h == nil || cur.h == nil:
			changes++
		default:
			if !cur.h.Equals(prev.h) {
				changes++
			}
		}
		prev = cur
	})
	return float64(changes), nil, true
}

// floatResets counts the decreases in a run of floats (the common case of
// resets, without the mixed-sample walk).
func floatResets(f []FPoint) int {
	n := 0
	for i := 1; i < len(f); i++ {
		if f[i].F < f[i-1].F {
			n++
		}
	}
	return n
}

// floatChanges counts the value changes in a run of floats; NaN to NaN is
// no change.
func floatChanges(f []FPoint) int {
	n := 0
	for i := 1; i < len(f); i++ {
		cur, prev := f[i].F, f[i-1].F
		if cur != prev && (cur == cur || prev == prev) {
			n++
		}
	}
	return n
}

// linearRegression fits a least-squares line through the samples and
// returns its slope and its value at interceptTime.
func linearRegression(samples []FPoint, interceptTime int64) (slope, intercept float64) {
	var (
		n                      float64
		sumX, cX, sumY, cY     float64
		sumXY, cXY, sumX2, cX2 float64
		initY                  = samples[0].F
		constY                 = true
	)
	for i, p := range samples {
		if constY && i > 0 && p.F != initY {
			constY = false
		}
		n++
		x := float64(p.T-interceptTime) / 1e3
		sumX, cX = kahansum.Inc(x, sumX, cX)
		sumY, cY = kahansum.Inc(p.F, sumY, cY)
		sumXY, cXY = kahansum.Inc(x*p.F, sumXY, cXY)
		sumX2, cX2 = kahansum.Inc(x*x, sumX2, cX2)
	}
	if constY {
		if math.IsInf(initY, 0) {
			return math.NaN(), math.NaN()
		}
		return 0, initY
	}
	sumX += cX
	sumY += cY
	sumXY += cXY
	sumX2 += cX2
	covXY := sumXY - sumX*sumY/n
	varX := sumX2 - sumX*sumX/n
	slope = covXY / varX
	return slope, sumY/n - slope*sumX/n
}

// twoFloats returns ok=false when the window has fewer than two floats,
// noting ignored histograms when there is exactly one.
func twoFloats(s *rangeStep) bool {
	if len(s.floats) < 2 {
		if len(s.floats) == 1 && len(s.hists) > 0 {
			s.annos.Add(annotations.NewHistogramIgnoredInMixedRangeInfo(s.metricName(), s.pos))
		}
		return false
	}
	if len(s.hists) > 0 {
		s.annos.Add(annotations.NewHistogramIgnoredInMixedRangeInfo(s.metricName(), s.pos))
	}
	return true
}

func kernelDeriv(s *rangeStep) (float64, *histogram.FloatHistogram, bool) {
	if !twoFloats(s) {
		return 0, nil, false
	}
	// An intercept time near the samples avoids losing precision.
	slope, _ := linearRegression(s.floats, s.floats[0].T)
	return slope, nil, true
}

func kernelPredictLinear(s *rangeStep) (float64, *histogram.FloatHistogram, bool) {
	if !twoFloats(s) {
		return 0, nil, false
	}
	slope, intercept := linearRegression(s.floats, s.ts)
	return slope*s.params[0] + intercept, nil, true
}

func kernelDoubleExponentialSmoothing(s *rangeStep) (float64, *histogram.FloatHistogram, bool) {
	sf, tf := s.params[0], s.params[1]
	if sf <= 0 || sf >= 1 {
		s.err = fmt.Errorf("invalid smoothing factor. Expected: 0 < sf < 1, got: %f", sf)
		return 0, nil, false
	}
	if tf <= 0 || tf >= 1 {
		s.err = fmt.Errorf("invalid trend factor. Expected: 0 < tf < 1, got: %f", tf)
		return 0, nil, false
	}
	if !twoFloats(s) {
		return 0, nil, false
	}
	f := s.floats
	var s0, x, y float64
	s1 := f[0].F
	b := f[1].F - f[0].F
	for i := 1; i < len(f); i++ {
		x = sf * f[i].F
		if i > 1 {
			b = tf*(s1-s0) + (1-tf)*b
		}
		y = (1 - sf) * (s1 + b)
		s0, s1 = s1, x+y
	}
	return s1, nil, true
}
