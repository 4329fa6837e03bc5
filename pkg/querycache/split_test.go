package querycache

import (
	"fmt"
	"testing"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/promql"
)

const minute = int64(60_000)

func TestDaySpans(t *testing.T) {
	day := int64(dayMs)
	for _, tc := range []struct {
		start, last, step int64
		want              []span
	}{
		// Within one day.
		{10 * minute, 20 * minute, minute, []span{{10 * minute, 20 * minute}}},
		// Across midnight on an aligned grid.
		{day - 2*minute, day + minute, minute, []span{{day - 2*minute, day - minute}, {day, day + minute}}},
		// A grid not on the minute: the first point of the next day is
		// the first grid point after midnight, not midnight.
		{day - 50_000, day + 70_000, 30_000, []span{{day - 50_000, day - 20_000}, {day + 10_000, day + 70_000}}},
		// A step longer than a day: one point per piece, days skipped.
		{day / 2, day/2 + 3*day, 36 * 3600_000, []span{{day / 2, day / 2}, {day/2 + 36*3600_000, day/2 + 36*3600_000}, {day/2 + 72*3600_000, day/2 + 72*3600_000}}},
		// Before 1970.
		{-day - minute, -day + minute, minute, []span{{-day - minute, -day - minute}, {-day, -day + minute}}},
	} {
		got := daySpans(tc.start, tc.last, tc.step)
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("daySpans(%d, %d, %d) = %v, want %v", tc.start, tc.last, tc.step, got, tc.want)
		}
		for _, s := range got {
			if floorDiv(s.from, day) != floorDiv(s.to, day) || (s.from-tc.start)%tc.step != 0 || (s.to-tc.start)%tc.step != 0 {
				t.Errorf("span %v crosses a day or leaves the grid", s)
			}
		}
	}
}

func TestLastPointAndKeys(t *testing.T) {
	if p, ok := lastPoint(100, 30, 175); !ok || p != 160 {
		t.Fatalf("lastPoint = %d %v", p, ok)
	}
	if _, ok := lastPoint(100, 30, 99); ok {
		t.Fatal("a point before start")
	}
	a := newQueryKey("m", 90_000, 60_000, promql.QueryOpts{})
	b := newQueryKey("m", 150_000, 60_000, promql.QueryOpts{})
	c := newQueryKey("m", -30_000, 60_000, promql.QueryOpts{})
	if a != b || a != c {
		t.Fatalf("grids of one phase have different keys: %v %v %v", a, b, c)
	}
	if a == newQueryKey("m", 90_000, 60_000, promql.QueryOpts{LookbackDelta: 1}) {
		t.Fatal("options not in the key")
	}
}

func series(name string, ts ...int64) promql.Series {
	s := promql.Series{Metric: labels.FromStrings("s", name)}
	for _, t := range ts {
		s.Floats = append(s.Floats, promql.FPoint{T: t, F: float64(t)})
	}
	return s
}

func TestMergeMatrices(t *testing.T) {
	a := promql.Matrix{series("a", 1, 2, 3), series("c", 1)}
	b := promql.Matrix{series("a", 3, 4), series("b", 4), series("c", 5)}
	got := mergeMatrices(a, b)
	want := promql.Matrix{series("a", 1, 2, 3, 4), series("b", 4), series("c", 1, 5)}
	if got.String() != want.String() {
		t.Fatalf("merged\n%v\nwant\n%v", got, want)
	}
	h := &histogram.FloatHistogram{Count: 1, Sum: 2}
	x := promql.Matrix{{Metric: labels.FromStrings("s", "h"), Histograms: []promql.HPoint{{T: 1, H: h}}}}
	y := promql.Matrix{{Metric: labels.FromStrings("s", "h"), Histograms: []promql.HPoint{{T: 1, H: h}, {T: 2, H: h}}}}
	if m := mergeMatrices(x, y); len(m) != 1 || len(m[0].Histograms) != 2 || m[0].Floats != nil {
		t.Fatalf("histograms merged into %v", m)
	}
}

func TestMergeExtentsUnionsDeps(t *testing.T) {
	m1 := []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "s", "a")}
	m2 := []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "s", "b")}
	x := newExtent(span{10, 20}, promql.Matrix{series("a", 10, 20)}, deps{read: true, mint: 5, maxt: 20, sets: []matcherSet{{key: "a", matchers: m1}}})
	y := newExtent(span{30, 40}, promql.Matrix{series("a", 30, 40)}, deps{read: true, mint: 25, maxt: 40, sets: []matcherSet{{key: "b", matchers: m2}}})
	m := mergeExtents(y, x)
	if m.span != (span{10, 40}) || m.deps.mint != 5 || m.deps.maxt != 40 || len(m.deps.sets) != 2 {
		t.Fatalf("merged extent %v deps %+v", m.span, m.deps)
	}
	if m.m.String() != (promql.Matrix{series("a", 10, 20, 30, 40)}).String() {
		t.Fatalf("merged points %v", m.m)
	}
}

func TestAssembleSortsAndSlices(t *testing.T) {
	a := newAssembled()
	a.add(promql.Matrix{series("b", 1, 2, 3), series("c", 1)}, 2, 3)
	a.add(promql.Matrix{series("a", 4, 5), series("b", 4, 5, 6)}, 4, 5)
	got := a.matrix()
	want := promql.Matrix{series("a", 4, 5), series("b", 2, 3, 4, 5)}
	if got.String() != want.String() {
		t.Fatalf("assembled\n%v\nwant\n%v", got, want)
	}
}

func TestStoreLookupAndInsert(t *testing.T) {
	s := newStore(1 << 20)
	k := entryKey{day: 0}
	ext := func(from, to int64) *extent {
		var ts []int64
		for t := from; t <= to; t += 10 {
			ts = append(ts, t)
		}
		return newExtent(span{from, to}, promql.Matrix{series("a", ts...)}, deps{})
	}
	s.insert(k, ext(20, 40), 10)
	s.insert(k, ext(70, 80), 10)
	parts := s.lookup(k, span{0, 100}, 10)
	want := "[{0 10} {20 40} {50 60} {70 80} {90 100}]"
	var got []span
	for _, p := range parts {
		got = append(got, p.span)
	}
	if fmt.Sprint(got) != want || parts[1].x == nil || parts[0].x != nil {
		t.Fatalf("lookup %v, want %s", got, want)
	}
	// Filling the gap joins the three into one extent.
	s.insert(k, ext(50, 60), 10)
	if e := s.entries[k]; len(e.extents) != 1 || e.extents[0].span != (span{20, 80}) || s.extents != 1 {
		t.Fatalf("extents after filling the gap: %v", e.extents)
	}
	if s.bytes != s.entries[k].size || s.bytes != s.entries[k].extents[0].size {
		t.Fatalf("bytes %d, entry %d", s.bytes, s.entries[k].size)
	}
}
