package promql

import (
	"reflect"
	"testing"

	"github.com/prometheus/prometheus/model/histogram"
)

func TestCopyHistogramMatchesCopy(t *testing.T) {
	for name, h := range map[string]*histogram.FloatHistogram{
		"empty": {Schema: 1, Count: 0},
		"positive only": {
			Schema: 0, Count: 5, Sum: 12, ZeroThreshold: 0.001, ZeroCount: 1,
			PositiveSpans: []histogram.Span{{Offset: 1, Length: 2}}, PositiveBuckets: []float64{2, 2},
		},
		"both sides": {
			Schema: 2, Count: 9, Sum: -3, CounterResetHint: histogram.GaugeType,
			PositiveSpans: []histogram.Span{{Offset: 0, Length: 1}, {Offset: 2, Length: 2}}, PositiveBuckets: []float64{1, 2, 3},
			NegativeSpans: []histogram.Span{{Offset: -1, Length: 1}}, NegativeBuckets: []float64{3},
		},
		"custom buckets": {
			Schema: histogram.CustomBucketsSchema, Count: 4, Sum: 10,
			PositiveSpans: []histogram.Span{{Offset: 0, Length: 2}}, PositiveBuckets: []float64{1, 3},
			CustomValues: []float64{1, 5},
		},
	} {
		got, want := copyHistogram(h), h.Copy()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %v, want %v", name, got, want)
		}
		if len(got.PositiveBuckets) > 0 {
			got.PositiveBuckets = append(got.PositiveBuckets, 100)
			if !reflect.DeepEqual(got.NegativeBuckets, want.NegativeBuckets) {
				t.Errorf("%s: growing the positive buckets changed the negative ones", name)
			}
		}
	}
}
