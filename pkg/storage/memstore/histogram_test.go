package memstore

import (
	"context"
	"errors"
	"testing"

	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/storage"
)

func testHistogram(count uint64) *histogram.Histogram {
	return &histogram.Histogram{
		Schema: 0, Count: count, Sum: float64(count) * 1.5, ZeroThreshold: 0.001, ZeroCount: 0,
		PositiveSpans:   []histogram.Span{{Offset: 0, Length: 2}},
		PositiveBuckets: []int64{int64(count / 2), 0},
	}
}

func TestHistogramsRoundTrip(t *testing.T) {
	s := New()
	l := labels.FromStrings("__name__", "latency", "job", "x")
	app := s.Appender(context.Background())
	ref, err := app.AppendHistogram(0, l, 1000, testHistogram(4), nil)
	if err != nil {
		t.Fatal(err)
	}
	fh := testHistogram(8).ToFloat(nil)
	if _, err := app.AppendHistogram(ref, l, 2000, nil, fh); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Append(ref, l, 3000, 1); err != nil { // types may mix over time
		t.Fatal(err)
	}
	// Same timestamp, different histogram: refused; same one: ignored.
	if _, err := app.AppendHistogram(ref, l, 2000, nil, testHistogram(9).ToFloat(nil)); err == nil {
		t.Error("duplicate timestamp with another histogram accepted")
	}
	if _, err := app.AppendHistogram(ref, l, 500, testHistogram(2), nil); !errors.Is(err, storage.ErrOutOfOrderSample) {
		t.Errorf("out of order histogram: %v", err)
	}
	if _, err := app.AppendHistogram(ref, l, 4000, nil, nil); !errors.Is(err, storage.ErrInvalidHistogram) {
		t.Errorf("empty histogram sample: %v", err)
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}

	q, _ := s.Querier(0, 10000)
	ss := q.Select(context.Background(), nil, labels.MustNewMatcher(labels.MatchEqual, "job", "x"))
	if !ss.Next() {
		t.Fatal("series not found")
	}
	it := ss.At().Iterator(nil)
	if vt := it.Next(); vt != storage.ValHistogram {
		t.Fatalf("first sample type %v", vt)
	}
	ts, h := it.AtHistogram(nil)
	if ts != 1000 || !h.Equals(testHistogram(4)) {
		t.Errorf("histogram at %d = %v", ts, h)
	}
	h.Count = 99 // a copy: the store must not change
	if _, h2 := it.AtHistogram(nil); h2.Count != 4 {
		t.Error("AtHistogram returned the stored histogram, not a copy")
	}
	if _, f := it.AtFloatHistogram(nil); f.Count != 4 {
		t.Errorf("integer histogram as float: %v", f)
	}
	if vt := it.Next(); vt != storage.ValFloatHistogram {
		t.Fatalf("second sample type %v", vt)
	}
	if _, f := it.AtFloatHistogram(nil); !f.Equals(fh) {
		t.Errorf("float histogram = %v", f)
	}
	if vt := it.Next(); vt != storage.ValFloat {
		t.Fatalf("third sample type %v", vt)
	}
}

func TestExemplars(t *testing.T) {
	s := New()
	l := labels.FromStrings("__name__", "reqs_total", "job", "x")
	other := labels.FromStrings("__name__", "reqs_total", "job", "y")
	ex := func(trace string, ts int64) exemplar.Exemplar {
		return exemplar.Exemplar{Labels: labels.FromStrings("trace_id", trace), Value: 1, Ts: ts, HasTs: true}
	}
	app := s.Appender(context.Background())
	ref, _ := app.Append(0, l, 1000, 1)
	for _, e := range []exemplar.Exemplar{ex("a", 1000), ex("b", 2000)} {
		if _, err := app.AppendExemplar(ref, l, e); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := app.AppendExemplar(0, other, ex("c", 1500)); err != nil {
		t.Fatal(err)
	}
	// Nothing is visible before Commit.
	eq, _ := s.ExemplarQuerier(context.Background())
	if res, _ := eq.Select(0, 5000, []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "job", "x")}); len(res) != 0 {
		t.Fatalf("exemplars visible before commit: %v", res)
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}

	app = s.Appender(context.Background())
	if _, err := app.AppendExemplar(ref, l, ex("old", 500)); !errors.Is(err, storage.ErrOutOfOrderExemplar) {
		t.Errorf("older exemplar: %v", err)
	}
	if _, err := app.AppendExemplar(ref, l, ex("b", 2000)); err != nil {
		t.Errorf("repeat of the newest exemplar must be ignored, got %v", err)
	}
	long := exemplar.Exemplar{Labels: labels.FromStrings("trace_id", string(make([]byte, 130))), Ts: 3000, HasTs: true}
	if _, err := app.AppendExemplar(ref, l, long); !errors.Is(err, storage.ErrExemplarLabelLength) {
		t.Errorf("long exemplar labels: %v", err)
	}
	_ = app.Commit()

	res, err := eq.Select(1500, 5000, []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "job", "x")})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || len(res[0].Exemplars) != 1 || res[0].Exemplars[0].Labels.Get("trace_id") != "b" {
		t.Fatalf("exemplars in [1500, 5000] of job x: %+v", res)
	}
	res, _ = eq.Select(0, 5000, []*labels.Matcher{labels.MustNewMatcher(labels.MatchRegexp, "job", "x|y")})
	if len(res) != 2 || len(res[0].Exemplars) != 2 {
		t.Fatalf("exemplars of both series: %+v", res)
	}
}

func TestExemplarRingIsBounded(t *testing.T) {
	r := newExemplarRing(3)
	for i := int64(1); i <= 5; i++ {
		r.add(1, exemplar.Exemplar{Value: float64(i), Ts: i, HasTs: true})
	}
	got := r.inRange(map[storage.SeriesRef]bool{1: true}, 0, 10)[1]
	if len(got) != 3 || got[0].Ts != 3 || got[2].Ts != 5 {
		t.Fatalf("ring kept %+v, want the newest three", got)
	}
}
