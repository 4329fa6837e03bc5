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
