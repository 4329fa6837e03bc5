package promql

import (
	"errors"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/promql/parser/posrange"
	"github.com/prometheus/prometheus/util/kahansum"
)

// histogramT shortens signatures that take native histograms.
type histogramT = histogram.FloatHistogram

// kahanInc adds inc to sum with Neumaier's compensation c.
func kahanInc(inc, sum, c float64) (newSum, newC float64) { return kahansum.Inc(inc, sum, c) }

// posrangeT shortens signatures that take positions for annotations.
type posrangeT = posrange.PositionRange

// incompatibleSchema reports whether err says that histograms mixing
// exponential and custom buckets could not be combined. The sentinel is a
// struct value: naming it as an error allocates, which the check does only
// when there is an error (histogram rates call it for every window).
func incompatibleSchema(err error) bool {
	return err != nil && errors.Is(err, histogram.ErrHistogramsIncompatibleSchema)
}
