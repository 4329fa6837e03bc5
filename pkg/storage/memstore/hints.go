package memstore

import (
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/value"
)

// withReadHint returns s with the counter reset hint its histogram reads
// back with, given the series' previous sample (hasPrev false for the
// first). It follows what Prometheus's TSDB reports, so that queries see
// the same hints on either store: the TSDB keeps counter histograms in
// chunks that never contain a counter reset and reads every sample but a
// chunk's first as "not a reset", the first as "unknown". A chunk starts on
// a reset, an explicit reset hint, a bucket layout change, after a stale
// marker, or when the sample type changes. Gauge histograms stay gauges.
// (The TSDB also cuts chunks by size, which this store does not mimic.)
func withReadHint(prev sample, hasPrev bool, s sample) sample {
	cur := s.floatHistogram()
	if cur == nil {
		return s
	}
	hint := histogram.NotCounterReset
	switch {
	case cur.CounterResetHint == histogram.GaugeType:
		return s
	case !hasPrev || startsChunk(prev, s, cur):
		hint = histogram.UnknownCounterReset
	}
	if cur.CounterResetHint == hint {
		return s
	}
	// Shallow copies: the caller's histogram is not modified.
	if s.h != nil {
		h := *s.h
		h.CounterResetHint = hint
		s.h = &h
	} else {
		fh := *s.fh
		fh.CounterResetHint = hint
		s.fh = &fh
	}
	return s
}

// startsChunk reports whether s cannot continue the TSDB chunk prev is in.
func startsChunk(prev, s sample, cur *histogram.FloatHistogram) bool {
	if prev.valueType() != s.valueType() {
		return true // a float, or the other kind of histogram
	}
	p := prev.floatHistogram()
	switch {
	case p.CounterResetHint == histogram.GaugeType:
		return true
	case cur.CounterResetHint == histogram.CounterReset:
		return true
	case value.IsStaleNaN(cur.Sum):
		return false
	case value.IsStaleNaN(p.Sum):
		return true
	case cur.Schema != p.Schema || cur.ZeroThreshold != p.ZeroThreshold:
		return true
	case histogram.IsCustomBucketsSchema(cur.Schema) && !histogram.CustomBucketBoundsMatch(cur.CustomValues, p.CustomValues):
		return true
	}
	// Compare the values only: the previous sample's own hint must not
	// decide.
	pv := *p
	pv.CounterResetHint = histogram.UnknownCounterReset
	cv := *cur
	cv.CounterResetHint = histogram.UnknownCounterReset
	return cv.DetectReset(&pv)
}

// floatHistogram returns the sample's histogram as a float histogram, or nil
// for a float sample.
func (s sample) floatHistogram() *histogram.FloatHistogram {
	switch {
	case s.fh != nil:
		return s.fh
	case s.h != nil:
		return s.h.ToFloat(nil)
	}
	return nil
}
