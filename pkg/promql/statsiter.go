package promql

import (
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/graftlabs/graft/pkg/storage"
)

// Selectors that only feed histogram_count, histogram_sum or histogram_avg
// need no buckets: like Prometheus, Graft then reads histograms as count and
// sum only, and works out counter resets on the fly (as the buckets are
// gone), which makes "reset" hints appear where storage says "unknown".

// readsStatsOnly says whether a selector below path can read its
// histograms as statistics only: a function on the path needs count and
// sum only, and nothing on it needs the buckets.
func readsStatsOnly(path []parser.Node) bool {
	statsOnly := false
	for _, node := range path {
		switch n := node.(type) {
		case *parser.SubqueryExpr:
			// Counter reset detection across subquery steps needs the
			// buckets.
			return false
		case *parser.Call:
			switch n.Func.Name {
			case "histogram_count", "histogram_sum", "histogram_avg":
				statsOnly = true
			case "histogram_quantile", "histogram_quantiles", "histogram_fraction", "histogram_stddev", "histogram_stdvar":
				return false
			}
		case *parser.BinaryExpr:
			if n.Op == parser.TRIM_UPPER || n.Op == parser.TRIM_LOWER {
				return false
			}
		}
	}
	return statsOnly
}

// statsIterator reads histograms as count and sum only, with counter reset
// hints worked out from the previous histogram read.
type statsIterator struct {
	it            storage.Iterator
	started       bool
	current, last *histogram.FloatHistogram
	lastIsCurrent bool
}

// iterator returns s's iterator, reading statistics only when asked to;
// it reuses prev.
func statsAwareIterator(s storage.Series, prev storage.Iterator, statsOnly bool) storage.Iterator {
	if !statsOnly {
		return s.Iterator(prev)
	}
	if si, ok := prev.(*statsIterator); ok {
		si.it = s.Iterator(si.it)
		si.started, si.last, si.lastIsCurrent = false, nil, false
		return si
	}
	return &statsIterator{it: s.Iterator(nil), current: &histogram.FloatHistogram{}}
}

func floatKind(t storage.ValueType) storage.ValueType {
	if t == storage.ValHistogram {
		return storage.ValFloatHistogram
	}
	return t
}

func (s *statsIterator) Next() storage.ValueType {
	s.started = true
	s.lastIsCurrent = false
	return floatKind(s.it.Next())
}

func (s *statsIterator) SeekTo(t int64) storage.ValueType {
	if !s.started || t > s.it.AtT() {
		s.last, s.lastIsCurrent = nil, false
	}
	s.started = true
	return floatKind(s.it.SeekTo(t))
}

func (s *statsIterator) At() (int64, float64) { return s.it.At() }

func (s *statsIterator) AtHistogram(*histogram.Histogram) (int64, *histogram.Histogram) {
	panic("statsIterator returns float histograms only")
}

func (s *statsIterator) AtFloatHistogram(fh *histogram.FloatHistogram) (int64, *histogram.FloatHistogram) {
	if s.lastIsCurrent {
		return s.it.AtT(), statsOf(s.last, s.last.CounterResetHint, fh)
	}
	var t int64
	t, s.current = s.it.AtFloatHistogram(reusable(s.current))
	if value.IsStaleNaN(s.current.Sum) {
		return t, statsOf(s.current, s.current.CounterResetHint, fh)
	}
	hint := s.resetHint()
	if s.last == nil {
		s.last = s.current.Copy()
	} else {
		s.current.CopyTo(s.last)
	}
	s.last.CounterResetHint = hint
	s.lastIsCurrent = true
	return t, statsOf(s.current, hint, fh)
}

// resetHint resolves an unknown hint against the previous histogram read.
func (s *statsIterator) resetHint() histogram.CounterResetHint {
	hint := s.current.CounterResetHint
	if hint != histogram.UnknownCounterReset {
		return hint
	}
	if s.last == nil {
		return histogram.UnknownCounterReset
	}
	if s.current.DetectReset(s.last) {
		return histogram.CounterReset
	}
	return histogram.NotCounterReset
}

// statsOf writes src's schema, count and sum with the given hint into dst
// (or a new histogram).
func statsOf(src *histogram.FloatHistogram, hint histogram.CounterResetHint, dst *histogram.FloatHistogram) *histogram.FloatHistogram {
	if dst == nil {
		dst = &histogram.FloatHistogram{}
	}
	// Assigned field by field: a local histogram whose address may be
	// returned would be allocated on every call.
	dst.CounterResetHint, dst.Schema, dst.Count, dst.Sum = hint, src.Schema, src.Count, src.Sum
	dst.ZeroThreshold, dst.ZeroCount = 0, 0
	dst.PositiveSpans, dst.NegativeSpans = dst.PositiveSpans[:0], dst.NegativeSpans[:0]
	dst.PositiveBuckets, dst.NegativeBuckets = dst.PositiveBuckets[:0], dst.NegativeBuckets[:0]
	dst.CustomValues = nil
	return dst
}

func (s *statsIterator) AtT() int64 { return s.it.AtT() }
func (s *statsIterator) Err() error { return s.it.Err() }

// AtST passes start timestamps through.
func (s *statsIterator) AtST() int64 {
	if st, ok := s.it.(storage.StartTimestampIterator); ok {
		return st.AtST()
	}
	return 0
}
