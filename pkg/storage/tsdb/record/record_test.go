package record

import (
	"math"
	"testing"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
)

func TestRoundTrip(t *testing.T) {
	var d Decoder
	series := []RefSeries{{Ref: 1, Labels: labels.FromStrings("__name__", "a", "x", "y")}, {Ref: 900, Labels: labels.FromStrings("b", "")}}
	gotS, err := d.Series(EncodeSeries(nil, series), nil)
	if err != nil || len(gotS) != 2 || !labels.Equal(gotS[0].Labels, series[0].Labels) || gotS[1].Ref != 900 {
		t.Fatalf("series: %v %v", gotS, err)
	}
	samples := []RefSample{{1, 1000, 1.5}, {900, 999, math.Float64frombits(value.StaleNaN)}, {2, -5, math.Inf(1)}}
	gotF, err := d.Samples(EncodeSamples(nil, samples), nil)
	if err != nil || len(gotF) != 3 {
		t.Fatalf("samples: %v %v", gotF, err)
	}
	for i := range samples {
		if gotF[i].Ref != samples[i].Ref || gotF[i].T != samples[i].T || math.Float64bits(gotF[i].V) != math.Float64bits(samples[i].V) {
			t.Errorf("sample %d: %v", i, gotF[i])
		}
	}
	h := &histogram.Histogram{Schema: 2, Count: 9, Sum: 3.5, ZeroThreshold: 0.1, ZeroCount: 1,
		PositiveSpans: []histogram.Span{{Offset: -2, Length: 2}}, PositiveBuckets: []int64{3, -1}, CounterResetHint: histogram.GaugeType}
	gotH, err := d.Histograms(EncodeHistograms(nil, []RefHistogram{{Ref: 4, T: 7, H: h}}, false), nil)
	if err != nil || len(gotH) != 1 || !gotH[0].H.Equals(h) || gotH[0].H.CounterResetHint != histogram.GaugeType {
		t.Fatalf("histograms: %+v %v", gotH, err)
	}
	fh := h.ToFloat(nil)
	gotFH, err := d.Histograms(EncodeHistograms(nil, []RefHistogram{{Ref: 4, T: 7, FH: fh}}, true), nil)
	if err != nil || len(gotFH) != 1 || !gotFH[0].FH.Equals(fh) {
		t.Fatalf("float histograms: %+v %v", gotFH, err)
	}
	ex := []RefExemplar{{Ref: 3, T: 10, V: 2, HasTs: true, Labels: labels.FromStrings("trace_id", "abc")}}
	gotE, err := d.Exemplars(EncodeExemplars(nil, ex), nil)
	if err != nil || len(gotE) != 1 || !labels.Equal(gotE[0].Labels, ex[0].Labels) || !gotE[0].HasTs {
		t.Fatalf("exemplars: %+v %v", gotE, err)
	}
	if _, err := d.Samples(EncodeSamples(nil, samples)[:10], nil); err == nil {
		t.Error("truncated record decoded")
	}
}

// FuzzDecode feeds arbitrary records to every decoder: errors are fine,
// panics and huge allocations are not.
func FuzzDecode(f *testing.F) {
	f.Add(EncodeSeries(nil, []RefSeries{{Ref: 1, Labels: labels.FromStrings("a", "b")}}))
	f.Add(EncodeSamples(nil, []RefSample{{1, 2, 3}}))
	f.Add(EncodeHistograms(nil, []RefHistogram{{Ref: 1, T: 2, H: &histogram.Histogram{Count: 1, PositiveSpans: []histogram.Span{{Length: 1}}, PositiveBuckets: []int64{1}}}}, false))
	f.Add(EncodeExemplars(nil, []RefExemplar{{Ref: 1, Labels: labels.FromStrings("t", "x")}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		var d Decoder
		switch TypeOf(b) {
		case TypeSeries:
			d.Series(b, nil)
		case TypeSamples:
			d.Samples(b, nil)
		case TypeHistograms, TypeFloatHistogram:
			d.Histograms(b, nil)
		case TypeExemplars:
			d.Exemplars(b, nil)
		}
	})
}
