package record

import (
	"encoding/binary"
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
	samples := []RefSample{{Ref: 1, T: 1000, V: 1.5}, {Ref: 900, T: 999, V: math.Float64frombits(value.StaleNaN)}, {Ref: 2, T: -5, V: math.Inf(1)}}
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
	f.Add(EncodeSamples(nil, []RefSample{{Ref: 1, T: 2, V: 3}}))
	f.Add(EncodeSamples(nil, []RefSample{{Ref: 1, T: 2, V: 3, ST: 1}}))
	f.Add(EncodeSamples(nil, []RefSample{{Ref: 1, T: 2, V: 3.5}, {Ref: 7, T: 2, V: -4}}))
	f.Add(EncodeHistograms(nil, []RefHistogram{{Ref: 1, T: 2, H: &histogram.Histogram{Count: 1, PositiveSpans: []histogram.Span{{Length: 1}}, PositiveBuckets: []int64{1}}}}, false))
	f.Add(EncodeExemplars(nil, []RefExemplar{{Ref: 1, Labels: labels.FromStrings("t", "x")}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		var d Decoder
		switch TypeOf(b) {
		case TypeSeries:
			d.Series(b, nil)
		case TypeSamples, TypeSamples | STFlag, TypeSamples | IntFlag, TypeSamples | IntFlag | STFlag:
			d.Samples(b, nil)
		case TypeHistograms, TypeFloatHistogram, TypeHistograms | STFlag, TypeFloatHistogram | STFlag:
			d.Histograms(b, nil)
		case TypeExemplars:
			d.Exemplars(b, nil)
		}
	})
}

func TestStartTimestamps(t *testing.T) {
	var d Decoder
	samples := []RefSample{
		{Ref: 1, T: 1000, V: 1, ST: 999},
		{Ref: 2, T: 1000, V: 2},
		{Ref: 3, T: 5000, V: 3, ST: 1_600_000_000_000},
		{Ref: 4, T: 5000, V: 4, ST: 5001},
		{Ref: 5, T: math.MaxInt64, V: 5, ST: math.MinInt64 + 1},
	}
	for _, late := range []bool{false, true} {
		b := EncodeSamples(nil, samples)
		if late {
			b = EncodeOOOSamples(nil, samples)
		}
		if !TypeOf(b).HasST() || Late(TypeOf(b)) != late {
			t.Fatalf("record type %d", TypeOf(b))
		}
		got, err := d.Samples(b, nil)
		if err != nil || len(got) != len(samples) {
			t.Fatalf("samples: %v %v", got, err)
		}
		for i := range samples {
			if got[i] != samples[i] {
				t.Errorf("sample %d: %+v, want %+v", i, got[i], samples[i])
			}
		}
	}
	// The incremental encoder codes the same record.
	var e SamplesEncoder
	b := e.StartWithST(nil, false)
	for _, s := range samples {
		b = e.AppendWithST(b, s.Ref, s.T, s.ST, s.V)
	}
	if want := EncodeSamples(nil, samples); string(b) != string(want) {
		t.Error("SamplesEncoder and EncodeSamples differ")
	}
	// Without start timestamps, records are not flagged with them.
	if typ := TypeOf(EncodeSamples(nil, samples[1:2])); typ.HasST() || typ.Base() != TypeSamples {
		t.Errorf("record without start timestamps: type %d", typ)
	}
	h := &histogram.Histogram{Count: 1, PositiveSpans: []histogram.Span{{Length: 1}}, PositiveBuckets: []int64{1}}
	hs := []RefHistogram{{Ref: 1, T: 10, ST: 5, H: h}, {Ref: 2, T: 20, H: h}}
	got, err := d.Histograms(EncodeOOOHistograms(nil, hs, false), nil)
	if err != nil || len(got) != 2 || got[0].ST != 5 || got[1].ST != 0 || !got[0].H.Equals(h) {
		t.Fatalf("histograms: %+v %v", got, err)
	}
	fhs := []RefHistogram{{Ref: 1, T: 10, ST: 9, FH: h.ToFloat(nil)}}
	b = EncodeHistograms(nil, fhs, true)
	if TypeOf(b) != TypeFloatHistogram|STFlag {
		t.Fatalf("float histogram record type %d", TypeOf(b))
	}
	if got, err := d.Histograms(b, nil); err != nil || got[0].ST != 9 || !got[0].FH.Equals(fhs[0].FH) {
		t.Fatalf("float histograms: %+v %v", got, err)
	}
}

func TestFlaggedTypes(t *testing.T) {
	for _, typ := range []Type{TypeSamples, TypeHistograms, TypeFloatHistogram, TypeOOOSamples, TypeOOOHistograms, TypeOOOFloatHistograms} {
		if f := typ | STFlag; f.Base() != typ || !f.HasST() || typ.HasST() || Late(f) != Late(typ) {
			t.Errorf("type %d flagged: base %d", typ, f.Base())
		}
	}
	for _, typ := range []Type{TypeSamples, TypeOOOSamples} {
		for _, f := range []Type{typ | IntFlag, typ | IntFlag | STFlag} {
			if f.Base() != typ || !f.hasIntValues() || f.HasST() != (f&STFlag != 0) || Late(f) != Late(typ) {
				t.Errorf("type %d flagged %d: base %d", typ, f, f.Base())
			}
		}
	}
	for _, typ := range []Type{TypeSeries, TypeExemplars, 20, 21} {
		if f := typ | STFlag; f.Base() != f || f.HasST() {
			t.Errorf("type %d flagged: base %d, HasST %v", typ, f.Base(), f.HasST())
		}
	}
	// Only float samples records flag integers.
	for _, typ := range []Type{TypeSeries, TypeHistograms, TypeFloatHistogram, TypeExemplars, TypeOOOHistograms, TypeOOOFloatHistograms} {
		if f := typ | IntFlag; f.Base() != f || f.HasST() || f.hasIntValues() {
			t.Errorf("type %d with IntFlag: base %d", typ, f.Base())
		}
	}
	if _, err := (Decoder{}).Series(append([]byte{byte(TypeSeries | STFlag)}, 1, 0), nil); err == nil {
		t.Error("flagged series record decoded")
	}
}

// TestIntValues checks that values survive the integer coding bit for
// bit, that integers take fewer bytes than raw floats, and that records
// written before IntFlag existed still decode.
func TestIntValues(t *testing.T) {
	vals := []float64{0, math.Copysign(0, -1), 1, -1, 42, 1e15, 1 << 53, -(1 << 53), 1<<53 - 1, -(1<<53 - 1),
		math.MaxInt64, math.MinInt64, 1e300, 0.5, -2.25, math.Inf(1), math.Inf(-1), math.NaN(),
		math.Float64frombits(value.StaleNaN), math.SmallestNonzeroFloat64}
	var samples []RefSample
	for i, v := range vals {
		samples = append(samples, RefSample{Ref: uint64(10 - i%3), T: int64(1000 * i), V: v})
	}
	var d Decoder
	var e SamplesEncoder
	inc := e.Start(nil, false)
	for _, s := range samples {
		inc = e.Append(inc, s.Ref, s.T, s.V)
	}
	for _, b := range [][]byte{EncodeSamples(nil, samples), inc} {
		got, err := d.Samples(b, nil)
		if err != nil || len(got) != len(samples) {
			t.Fatalf("samples: %v %v", got, err)
		}
		for i, s := range samples {
			if got[i].Ref != s.Ref || got[i].T != s.T || math.Float64bits(got[i].V) != math.Float64bits(s.V) {
				t.Errorf("sample %d: %+v, want %+v", i, got[i], s)
			}
		}
	}

	// A scrape of counters: one byte of ref, one of time, two of value.
	var counters []RefSample
	for i := range 1000 {
		counters = append(counters, RefSample{Ref: uint64(i + 1), T: 15000, V: float64(1000 + i)})
	}
	if n := len(EncodeSamples(nil, counters)); n > 1+3+3+1000*4 {
		t.Errorf("1000 integer samples take %d bytes", n)
	}

	// Before IntFlag: ref and time deltas, then 8 raw bytes per value.
	old := []byte{byte(TypeSamples)}
	old = binary.AppendVarint(old, 5)
	old = binary.AppendVarint(old, 1000)
	old = binary.LittleEndian.AppendUint64(old, math.Float64bits(3))
	old = binary.AppendVarint(old, -2)
	old = binary.AppendVarint(old, 0)
	old = binary.LittleEndian.AppendUint64(old, math.Float64bits(0.25))
	got, err := d.Samples(old, nil)
	want := []RefSample{{Ref: 5, T: 1000, V: 3}, {Ref: 3, T: 1000, V: 0.25}}
	if err != nil || len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("record without IntFlag: %+v %v", got, err)
	}
}
