package promql

import (
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/promql/parser/posrange"
	"github.com/prometheus/prometheus/util/annotations"
)

// addHistogram adds other into base in place, turning failures and bucket
// reconciliations into annotations. It returns false if the two do not add.
func addHistogram(base, other *histogram.FloatHistogram, annos *annotations.Annotations, metricName string, pos posrange.PositionRange) bool {
	_, _, reconciled, err := base.Add(other)
	return histogramOpResult(err, reconciled, annotations.HistogramAdd, annos, metricName, pos)
}

// subHistogram subtracts other from base in place, like addHistogram.
func subHistogram(base, other *histogram.FloatHistogram, annos *annotations.Annotations, metricName string, pos posrange.PositionRange) bool {
	_, _, reconciled, err := base.Sub(other)
	return histogramOpResult(err, reconciled, annotations.HistogramSub, annos, metricName, pos)
}

func histogramOpResult(err error, reconciled bool, op annotations.HistogramOperation, annos *annotations.Annotations, metricName string, pos posrange.PositionRange) bool {
	if err != nil {
		if incompatibleSchema(err) {
			annos.Add(annotations.NewMixedExponentialCustomHistogramsWarning(metricName, pos))
		}
		return false
	}
	if reconciled {
		annos.Add(annotations.NewMismatchedCustomBucketsHistogramsInfo(pos, op))
	}
	return true
}

// reusable prepares a histogram this package owns to be overwritten by a
// storage iterator. Custom bucket bounds are shared between histograms and
// never written in place (Prometheus's chunk iterators and Copy/CopyTo
// share them), so the slice is let go rather than handed to an iterator
// that might write into it and change histograms already returned.
func reusable(h *histogram.FloatHistogram) *histogram.FloatHistogram {
	if h != nil {
		h.CustomValues = nil
	}
	return h
}

// copyHistogram is h.Copy() in three allocations instead of up to five:
// the positive and negative spans share one array, and so do the buckets
// (each slice capped to its length, so that growing one never writes into
// the other). Rates and selections copy a histogram per step and series.
func copyHistogram(h *histogram.FloatHistogram) *histogram.FloatHistogram {
	c := &histogram.FloatHistogram{
		CounterResetHint: h.CounterResetHint,
		Schema:           h.Schema,
		Count:            h.Count,
		Sum:              h.Sum,
	}
	if h.UsesCustomBuckets() {
		// Custom bounds are interned: shared, as Copy does.
		c.CustomValues = h.CustomValues
		c.PositiveSpans = cloneNonEmpty(h.PositiveSpans)
		c.PositiveBuckets = cloneNonEmpty(h.PositiveBuckets)
		return c
	}
	c.ZeroThreshold, c.ZeroCount = h.ZeroThreshold, h.ZeroCount
	c.PositiveSpans, c.NegativeSpans = clonePair(h.PositiveSpans, h.NegativeSpans)
	c.PositiveBuckets, c.NegativeBuckets = clonePair(h.PositiveBuckets, h.NegativeBuckets)
	return c
}

// clonePair copies a and b into one new array; an empty one comes back
// nil, as Copy leaves it.
func clonePair[T any](a, b []T) ([]T, []T) {
	if len(a) == 0 || len(b) == 0 {
		return cloneNonEmpty(a), cloneNonEmpty(b)
	}
	buf := make([]T, len(a)+len(b))
	copy(buf, a)
	copy(buf[len(a):], b)
	return buf[:len(a):len(a)], buf[len(a):]
}

func cloneNonEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return append([]T(nil), s...)
}
