package promql

import (
	"sort"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/util/annotations"
)

func kernelRate(s *rangeStep) (float64, *histogram.FloatHistogram, bool) {
	return extrapolatedRate(s, true, true)
}

func kernelIncrease(s *rangeStep) (float64, *histogram.FloatHistogram, bool) {
	return extrapolatedRate(s, true, false)
}

func kernelDelta(s *rangeStep) (float64, *histogram.FloatHistogram, bool) {
	return extrapolatedRate(s, false, false)
}

// extrapolatedRate implements rate, increase and delta: the change between
// the first and last sample of the window (corrected for counter resets),
// extrapolated towards the window's edges unless the series seems to start
// or end inside it, and never below zero for counters. A start timestamp
// inside the window stands for a zero sample at that time.
func extrapolatedRate(s *rangeStep, isCounter, isRate bool) (float64, *histogram.FloatHistogram, bool) {
	if s.anchored || s.smoothed {
		return extendedRate(s, isCounter, isRate)
	}
	if len(s.hists) > 0 && len(s.floats) > 0 {
		s.annos.Add(annotations.NewMixedFloatsHistogramsWarning(s.metricName(), s.pos))
		return 0, nil, false
	}
	var (
		resultF     float64
		resultH     *histogram.FloatHistogram
		firstT      int64
		lastT       int64
		nMinusOne   int
		startStamps []int64
	)
	switch {
	case len(s.hists) > 0:
		nMinusOne = len(s.hists) - 1
		firstT, lastT = s.hists[0].T, s.hists[nMinusOne].T
		startStamps = s.hST
		if len(s.hists) > 1 {
			resultH = histogramRate(s, isCounter)
			if resultH == nil {
				return 0, nil, false
			}
		}
	default:
		nMinusOne = len(s.floats) - 1
		firstT, lastT = s.floats[0].T, s.floats[nMinusOne].T
		resultF = s.floats[nMinusOne].F - s.floats[0].F
		if isCounter {
			startStamps = s.fST
			resultF = addResetCorrection(s, resultF)
		}
	}

	durationToStart := float64(firstT-s.rangeStart) / 1000
	durationToEnd := float64(s.rangeEnd-lastT) / 1000
	sampledInterval := float64(lastT-firstT) / 1000
	var avgInterval float64
	if nMinusOne > 0 {
		avgInterval = sampledInterval / float64(nMinusOne)
	}
	threshold := avgInterval * 1.1

	sts := startStamps
	switch {
	case isCounter && len(sts) > 0 && sts[0] != 0 && sts[0] > s.rangeStart && sts[0] < firstT:
		// The first sample's start timestamp lies inside the window: assume
		// a zero sample there instead of extrapolating to the left.
		durationToStart = 0
		sampledInterval = float64(lastT-sts[0]) / 1000
		if len(s.floats) > 0 {
			resultF += s.floats[0].F
		} else if resultH == nil {
			resultH = s.hists[0].H.Copy()
		} else if !addHistogram(resultH, s.hists[0].H, s.annos, s.metricName(), s.pos) {
			return 0, nil, false
		}
	case nMinusOne == 0:
		return 0, nil, false // one sample and no usable start timestamp
	default:
		if durationToStart >= threshold {
			durationToStart = avgInterval / 2
		}
		if isCounter {
			// Counters cannot be negative: do not extrapolate to the left
			// past where the counter would have been zero.
			durationToZero := durationToStart
			if resultF > 0 && len(s.floats) > 0 && s.floats[0].F >= 0 {
				durationToZero = sampledInterval * (s.floats[0].F / resultF)
			} else if resultH != nil && resultH.Count > 0 && len(s.hists) > 0 && s.hists[0].H.Count >= 0 {
				durationToZero = sampledInterval * (s.hists[0].H.Count / resultH.Count)
			}
			durationToStart = min(durationToStart, durationToZero)
		}
	}
	if durationToEnd >= threshold {
		durationToEnd = avgInterval / 2
	}
	factor := 1.0
	if sampledInterval != 0 {
		factor = (sampledInterval + durationToStart + durationToEnd) / sampledInterval
	}
	if isRate {
		factor /= s.rangeSec
	}
	if resultH != nil {
		resultH.Mul(factor)
		return 0, resultH, true
	}
	return resultF * factor, nil, true
}

// addResetCorrection adds to result the value before each counter reset,
// detected by a drop in value or by a start timestamp (one by one, for the
// same rounding as Prometheus).
func addResetCorrection(s *rangeStep, result float64) float64 {
	var (
		sts     = s.fST
		overlap bool
	)
	for i := 1; i < len(s.floats); i++ {
		prev, cur := s.floats[i-1], s.floats[i]
		if !overlap && i < len(sts) && startTimeOverlaps(sts[i-1], prev.T, sts[i]) {
			s.annos.Add(annotations.NewStartTimeOverlapWarning(s.metricName(), s.pos))
			overlap = true
		}
		if cur.F < prev.F || (i < len(sts) && isStartTimestampReset(sts[i-1], prev.T, sts[i], cur.T)) {
			result += prev.F
		}
	}
	return result
}

// histogramRate computes the counter-reset-corrected difference between the
// last and first histogram of the window, or nil (with an annotation) when
// they cannot be combined.
func histogramRate(s *rangeStep, isCounter bool) *histogram.FloatHistogram {
	points, sts, name := s.hists, s.hST, s.metricName()
	prev := points[0].H
	last := points[len(points)-1].H
	usingCustom := prev.UsesCustomBuckets()

	if isCounter && (prev.CounterResetHint == histogram.GaugeType || last.CounterResetHint == histogram.GaugeType) {
		s.annos.Add(annotations.NewNativeHistogramNotCounterWarning(name, s.pos))
	}
	// A reset between the first two samples makes the first irrelevant,
	// including its bucket layout.
	if isCounter {
		second := points[1].H
		if (len(sts) > 1 && isStartTimestampReset(sts[0], points[0].T, sts[1], points[1].T)) || second.DetectReset(prev) {
			prev = &histogram.FloatHistogram{Schema: second.Schema, CustomValues: second.CustomValues}
			usingCustom = second.UsesCustomBuckets()
		}
	}
	if last.UsesCustomBuckets() != usingCustom {
		s.annos.Add(annotations.NewMixedExponentialCustomHistogramsWarning(name, s.pos))
		return nil
	}
	minSchema := min(last.Schema, prev.Schema)
	for _, p := range points[1 : len(points)-1] {
		if !isCounter {
			continue
		}
		if p.H.CounterResetHint == histogram.GaugeType {
			s.annos.Add(annotations.NewNativeHistogramNotCounterWarning(name, s.pos))
		}
		minSchema = min(minSchema, p.H.Schema)
		if p.H.UsesCustomBuckets() != usingCustom {
			s.annos.Add(annotations.NewMixedExponentialCustomHistogramsWarning(name, s.pos))
			return nil
		}
	}

	var h *histogram.FloatHistogram
	if minSchema == last.Schema {
		h = copyHistogram(last)
	} else {
		h = last.CopyToSchema(minSchema)
	}
	_, _, reconciled, err := h.Sub(prev)
	if incompatibleSchema(err) {
		s.annos.Add(annotations.NewMixedExponentialCustomHistogramsWarning(name, s.pos))
		return nil
	}
	if reconciled {
		s.annos.Add(annotations.NewMismatchedCustomBucketsHistogramsInfo(s.pos, annotations.HistogramSub))
	}

	if isCounter {
		overlap := false
		for i := 1; i < len(points); i++ {
			cur := points[i].H
			if !overlap && i < len(sts) && startTimeOverlaps(sts[i-1], points[i-1].T, sts[i]) {
				s.annos.Add(annotations.NewStartTimeOverlapWarning(name, s.pos))
				overlap = true
			}
			if (i < len(sts) && isStartTimestampReset(sts[i-1], points[i-1].T, sts[i], points[i].T)) || cur.DetectReset(prev) {
				_, _, reconciled, err := h.Add(prev)
				if incompatibleSchema(err) {
					s.annos.Add(annotations.NewMixedExponentialCustomHistogramsWarning(name, s.pos))
					return nil
				}
				if reconciled {
					s.annos.Add(annotations.NewMismatchedCustomBucketsHistogramsInfo(s.pos, annotations.HistogramAdd))
				}
			}
			prev = cur
		}
	} else if points[0].H.CounterResetHint != histogram.GaugeType || points[len(points)-1].H.CounterResetHint != histogram.GaugeType {
		s.annos.Add(annotations.NewNativeHistogramNotGaugeWarning(name, s.pos))
	}
	h.CounterResetHint = histogram.GaugeType
	return h.Compact(0)
}

// isStartTimestampReset tells whether the start timestamps of two
// consecutive samples show a counter reset between them.
func isStartTimestampReset(prevST, prevT, curST, curT int64) bool {
	if prevST == curST || curST == 0 || curST >= curT {
		// Unchanged, unknown, invalid, or OpenTelemetry's "unknown start"
		// (ST == T): no reset.
		return false
	}
	if curST < prevT {
		return false
	}
	if curST > prevT {
		return true
	}
	// curST == prevT: a delta sample, or a cumulative one with unknown
	// start; only the former resets, and it has a known previous start.
	if prevST > prevT {
		return false
	}
	return prevST != 0 && prevST != prevT
}

// startTimeOverlaps detects a start timestamp reaching back before the
// previous sample without being the same cumulative start.
func startTimeOverlaps(prevST, prevT, curST int64) bool {
	return curST != 0 && curST < prevT && curST != prevST
}

func kernelIrate(s *rangeStep) (float64, *histogram.FloatHistogram, bool) {
	return instantValue(s, true)
}

func kernelIdelta(s *rangeStep) (float64, *histogram.FloatHistogram, bool) {
	return instantValue(s, false)
}

// lastTwo is one of the last two samples of a window.
type lastTwo struct {
	t, st int64
	f     float64
	h     *histogram.FloatHistogram
}

// instantValue implements irate and idelta from the last two samples.
func instantValue(s *rangeStep, isRate bool) (float64, *histogram.FloatHistogram, bool) {
	if len(s.floats)+len(s.hists) < 2 {
		return 0, nil, false
	}
	ss := make([]lastTwo, 0, 2)
	for i := max(0, len(s.floats)-2); i < len(s.floats); i++ {
		p := lastTwo{t: s.floats[i].T, f: s.floats[i].F}
		if i < len(s.fST) {
			p.st = s.fST[i]
		}
		ss = append(ss, p)
	}
	for i := max(0, len(s.hists)-2); i < len(s.hists); i++ {
		p := lastTwo{t: s.hists[i].T, h: s.hists[i].H}
		if i < len(s.hST) {
			p.st = s.hST[i]
		}
		switch {
		case len(ss) == 0:
			ss = append(ss, p)
		case len(ss) == 1:
			if p.t < ss[0].t {
				ss = append([]lastTwo{p}, ss...)
			} else {
				ss = append(ss, p)
			}
		case p.t < ss[0].t:
			// Older than both: irrelevant.
		case p.t > ss[1].t:
			ss[0], ss[1] = ss[1], p
		default:
			ss[0] = p
		}
	}
	prev, last := ss[0], ss[1]
	interval := last.t - prev.t
	if interval == 0 {
		return 0, nil, false
	}
	name := s.metricName()
	var (
		f = last.f
		h *histogram.FloatHistogram
	)
	switch {
	case last.h == nil && prev.h == nil:
		if !isRate || !(last.f < prev.f || isStartTimestampReset(prev.st, prev.t, last.st, last.t)) {
			f = last.f - prev.f
		}
	case last.h != nil && prev.h != nil:
		h = last.h.Copy()
		if isRate && (last.h.CounterResetHint == histogram.GaugeType || prev.h.CounterResetHint == histogram.GaugeType) {
			s.annos.Add(annotations.NewNativeHistogramNotCounterWarning(name, s.pos))
		}
		if !isRate && (last.h.CounterResetHint != histogram.GaugeType || prev.h.CounterResetHint != histogram.GaugeType) {
			s.annos.Add(annotations.NewNativeHistogramNotGaugeWarning(name, s.pos))
		}
		if !isRate || (!isStartTimestampReset(prev.st, prev.t, last.st, last.t) && !last.h.DetectReset(prev.h)) {
			_, _, reconciled, err := h.Sub(prev.h)
			if incompatibleSchema(err) {
				s.annos.Add(annotations.NewMixedExponentialCustomHistogramsWarning(name, s.pos))
				return 0, nil, false
			}
			if reconciled {
				s.annos.Add(annotations.NewMismatchedCustomBucketsHistogramsInfo(s.pos, annotations.HistogramSub))
			}
		}
		h.CounterResetHint = histogram.GaugeType
		h.Compact(0)
	default:
		s.annos.Add(annotations.NewMixedFloatsHistogramsWarning(name, s.pos))
		return 0, nil, false
	}
	if isRate {
		secs := float64(interval) / 1000
		if h != nil {
			h.Div(secs)
		} else {
			f /= secs
		}
	}
	return f, h, true
}

// extendedRate implements rate, increase and delta over anchored and
// smoothed windows: the values at the window's edges are the samples there
// or, smoothed, interpolated between the samples around them.
func extendedRate(s *rangeStep, isCounter, isRate bool) (float64, *histogram.FloatHistogram, bool) {
	switch {
	case len(s.hists) > 0 && len(s.floats) > 0:
		s.annos.Add(annotations.NewMixedFloatsHistogramsWarning(s.metricName(), s.pos))
		return 0, nil, false
	case len(s.hists) > 0:
		return extendedHistogramRate(s, isCounter, isRate)
	case len(s.floats) > 0:
		return extendedFloatRate(s, isCounter, isRate)
	}
	return 0, nil, false
}

func extendedFloatRate(s *rangeStep, isCounter, isRate bool) (float64, *histogram.FloatHistogram, bool) {
	f := s.floats
	first, last, ok := extendedBounds(len(f), func(i int) int64 { return f[i].T }, s)
	if !ok {
		return 0, nil, false
	}
	left := pickOrInterpolateLeft(f, first, s.rangeStart, s.smoothed, isCounter)
	right := pickOrInterpolateRight(f, last, s.rangeEnd, s.smoothed, isCounter)
	result := right - left
	if isCounter {
		// The edges already account for resets across them.
		if f[first].T <= s.rangeStart {
			first++
		}
		if f[last].T >= s.rangeEnd {
			last--
		}
		result += resetCorrectionBetween(left, right, f[first:last+1])
	}
	if isRate {
		result /= s.rangeSec
	}
	return result, nil, true
}

// extendedBounds finds the samples the edges of an anchored or smoothed
// window come from: the last one at or before the start, and (smoothed) the
// first one at or after the end.
func extendedBounds(n int, at func(int) int64, s *rangeStep) (first, last int, ok bool) {
	last = n - 1
	first = max(0, sort.Search(last, func(i int) bool { return at(i) > s.rangeStart })-1)
	if s.smoothed {
		last = sort.Search(last, func(i int) bool { return at(i) >= s.rangeEnd })
	}
	if at(last) <= s.rangeStart {
		return 0, 0, false
	}
	if s.smoothed && at(first) > s.rangeEnd {
		return 0, 0, false
	}
	return first, last, true
}

func pickOrInterpolateLeft(f []FPoint, first int, rangeStart int64, smoothed, isCounter bool) float64 {
	if smoothed && f[first].T < rangeStart {
		return interpolate(f[first], f[first+1], rangeStart, isCounter)
	}
	return f[first].F
}

func pickOrInterpolateRight(f []FPoint, last int, rangeEnd int64, smoothed, isCounter bool) float64 {
	if smoothed && last > 0 && f[last].T > rangeEnd {
		return interpolate(f[last-1], f[last], rangeEnd, isCounter)
	}
	return f[last].F
}

// interpolate is the value at t on the line between p1 and p2; a counter
// that reset between them is taken to restart from zero.
func interpolate(p1, p2 FPoint, t int64, isCounter bool) float64 {
	y1, y2 := p1.F, p2.F
	if isCounter && y2 < y1 {
		y1 = 0
	}
	return y1 + (y2-y1)*float64(t-p1.T)/float64(p2.T-p1.T)
}

// resetCorrectionBetween sums the values before each reset from left,
// through points, to right.
func resetCorrectionBetween(left, right float64, points []FPoint) float64 {
	var corr float64
	prev := left
	for _, p := range points {
		if p.F < prev {
			corr += prev
		}
		prev = p.F
	}
	if right < prev {
		corr += prev
	}
	return corr
}

func extendedHistogramRate(s *rangeStep, isCounter, isRate bool) (float64, *histogram.FloatHistogram, bool) {
	h, name := s.hists, s.metricName()
	first, last, ok := extendedBounds(len(h), func(i int) int64 { return h[i].T }, s)
	if !ok {
		return 0, nil, false
	}
	if !validateHistogramRange(h[first:last+1], isCounter, s) {
		return 0, nil, false
	}
	left, err := pickOrInterpolateLeftHistogram(h, first, s.rangeStart, s.smoothed, isCounter, s)
	if err != nil {
		interpolationError(s, err)
		return 0, nil, false
	}
	right, err := pickOrInterpolateRightHistogram(h, last, s.rangeEnd, s.smoothed, isCounter, s)
	if err != nil {
		interpolationError(s, err)
		return 0, nil, false
	}
	if !isCounter && (left.CounterResetHint != histogram.GaugeType || right.CounterResetHint != histogram.GaugeType) {
		s.annos.Add(annotations.NewNativeHistogramNotGaugeWarning(name, s.pos))
	}
	result := right.Copy()
	if !subHistogram(result, left, s.annos, name, s.pos) {
		return 0, nil, false
	}
	if isCounter {
		corr, ok := histogramResetCorrection(h, first, last, left, right, s)
		if !ok {
			return 0, nil, false
		}
		if corr != nil && !addHistogram(result, corr, s.annos, name, s.pos) {
			return 0, nil, false
		}
	}
	if isRate {
		result.Div(s.rangeSec)
	}
	result.CounterResetHint = histogram.GaugeType
	return 0, result.Compact(0), true
}

func interpolationError(s *rangeStep, err error) {
	if incompatibleSchema(err) {
		s.annos.Add(annotations.NewMixedExponentialCustomHistogramsWarning(s.metricName(), s.pos))
	}
}

// validateHistogramRange refuses a mix of exponential and custom buckets
// and flags gauge histograms fed to a counter function.
func validateHistogramRange(h []HPoint, isCounter bool, s *rangeStep) bool {
	custom := h[0].H.UsesCustomBuckets()
	for _, p := range h {
		if p.H.UsesCustomBuckets() != custom {
			s.annos.Add(annotations.NewMixedExponentialCustomHistogramsWarning(s.metricName(), s.pos))
			return false
		}
		if isCounter && p.H.CounterResetHint == histogram.GaugeType {
			s.annos.Add(annotations.NewNativeHistogramNotCounterWarning(s.metricName(), s.pos))
		}
	}
	return true
}

func interpolateHistograms(h1 *histogram.FloatHistogram, t1 int64, h2 *histogram.FloatHistogram, t2, t int64, isCounter bool, s *rangeStep) (*histogram.FloatHistogram, error) {
	if t == t1 {
		return h1.Copy(), nil
	}
	if t == t2 {
		return h2.Copy(), nil
	}
	fraction := float64(t-t1) / float64(t2-t1)
	if isCounter && h2.DetectReset(h1) {
		return h2.Copy().Mul(fraction), nil
	}
	res := h2.Copy()
	_, _, reconciled, err := res.Sub(h1)
	if err != nil {
		return nil, err
	}
	if reconciled {
		s.annos.Add(annotations.NewMismatchedCustomBucketsHistogramsInfo(s.pos, annotations.HistogramSub))
	}
	res.Mul(fraction)
	_, _, reconciled, err = res.Add(h1)
	if err != nil {
		return nil, err
	}
	if reconciled {
		s.annos.Add(annotations.NewMismatchedCustomBucketsHistogramsInfo(s.pos, annotations.HistogramAdd))
	}
	return res, nil
}

func pickOrInterpolateLeftHistogram(h []HPoint, first int, rangeStart int64, smoothed, isCounter bool, s *rangeStep) (*histogram.FloatHistogram, error) {
	if smoothed && h[first].T < rangeStart {
		return interpolateHistograms(h[first].H, h[first].T, h[first+1].H, h[first+1].T, rangeStart, isCounter, s)
	}
	return h[first].H.Copy(), nil
}

func pickOrInterpolateRightHistogram(h []HPoint, last int, rangeEnd int64, smoothed, isCounter bool, s *rangeStep) (*histogram.FloatHistogram, error) {
	if smoothed && last > 0 && h[last].T > rangeEnd {
		return interpolateHistograms(h[last-1].H, h[last-1].T, h[last].H, h[last].T, rangeEnd, isCounter, s)
	}
	return h[last].H.Copy(), nil
}

// histogramResetCorrection is resetCorrectionBetween for histograms; nil
// when there is nothing to correct, ok=false when histograms do not combine.
func histogramResetCorrection(h []HPoint, firstIdx, lastIdx int, left, right *histogram.FloatHistogram, s *rangeStep) (*histogram.FloatHistogram, bool) {
	first := firstIdx + 1
	prev := left
	if s.smoothed && h[firstIdx].T < s.rangeStart && h[firstIdx+1].H.DetectReset(h[firstIdx].H) {
		// The left interpolation already spanned this reset.
		prev = h[firstIdx+1].H
		first++
	}
	last := lastIdx - 1
	if first > last+1 {
		return nil, true
	}
	var corr *histogram.FloatHistogram
	add := func(x *histogram.FloatHistogram) bool {
		if corr == nil {
			corr = x.Copy()
			return true
		}
		return addHistogram(corr, x, s.annos, s.metricName(), s.pos)
	}
	for _, p := range h[first : last+1] {
		if p.H.DetectReset(prev) && !add(prev) {
			return nil, false
		}
		prev = p.H
	}
	if right.DetectReset(prev) && !add(prev) {
		return nil, false
	}
	return corr, true
}
