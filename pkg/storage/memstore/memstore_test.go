package memstore_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/graftlabs/graft/pkg/storage"
	"github.com/graftlabs/graft/pkg/storage/memstore"
)

// Compile-time check: the store is a complete storage engine.
var _ storage.Storage = (*memstore.Store)(nil)

type pt struct {
	T int64
	V float64
}

func (p pt) String() string { return fmt.Sprintf("%g@%d", p.V, p.T) }

func ls(kv ...string) labels.Labels { return labels.FromStrings(kv...) }

// mustAppend appends and commits one batch of samples of lset.
func mustAppend(t testing.TB, st storage.Appendable, lset labels.Labels, pts ...pt) {
	t.Helper()
	app := st.Appender(context.Background())
	for _, p := range pts {
		if _, err := app.Append(0, lset, p.T, p.V); err != nil {
			t.Fatalf("append %s %v: %v", lset, p, err)
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatalf("commit: %v", err)
	}
}

// readAll returns every series selected by ms in [mint, maxt] with its
// samples, keyed by the label string, plus the order the set returned them in.
func readAll(t testing.TB, st storage.Queryable, mint, maxt int64, ms ...*labels.Matcher) (map[string][]pt, []string) {
	t.Helper()
	q, err := st.Querier(mint, maxt)
	if err != nil {
		t.Fatalf("querier: %v", err)
	}
	defer q.Close()
	return drain(t, q.Select(context.Background(), &storage.SelectHints{Start: mint, End: maxt}, ms...))
}

func drain(t testing.TB, ss storage.SeriesSet) (map[string][]pt, []string) {
	t.Helper()
	out := map[string][]pt{}
	var order []string
	var it storage.Iterator
	for ss.Next() {
		s := ss.At()
		it = s.Iterator(it)
		var pts []pt
		for it.Next() == storage.ValFloat {
			ts, v := it.At()
			if it.AtT() != ts {
				t.Fatalf("AtT %d != At %d", it.AtT(), ts)
			}
			pts = append(pts, pt{ts, v})
		}
		if err := it.Err(); err != nil {
			t.Fatalf("iterator: %v", err)
		}
		key := s.Labels().String()
		if _, dup := out[key]; dup {
			t.Fatalf("series %s returned twice", key)
		}
		out[key] = pts
		order = append(order, key)
	}
	if err := ss.Err(); err != nil {
		t.Fatalf("series set: %v", err)
	}
	return out, order
}

func keys(m map[string][]pt) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestAppendInvisibleUntilCommit(t *testing.T) {
	st := memstore.New()
	l := ls("__name__", "m", "a", "1")
	app := st.Appender(context.Background())
	ref, err := app.Append(0, l, 10, 1)
	if err != nil {
		t.Fatal(err)
	}
	if ref == 0 {
		t.Fatal("Append returned ref 0 for a new series")
	}
	if _, err := app.Append(ref, l, 20, 2); err != nil {
		t.Fatal(err)
	}

	got, _ := readAll(t, st, math.MinInt64, math.MaxInt64)
	if len(got) != 0 {
		t.Fatalf("uncommitted samples visible: %v", got)
	}
	q, _ := st.Querier(math.MinInt64, math.MaxInt64)
	names, err := q.LabelNames(context.Background())
	if err != nil || len(names) != 0 {
		t.Fatalf("uncommitted series visible in LabelNames: %v %v", names, err)
	}
	if s := st.Stats(); s.NumSamples != 0 {
		t.Fatalf("Stats counts uncommitted samples: %+v", s)
	}

	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	got, _ = readAll(t, st, math.MinInt64, math.MaxInt64)
	want := map[string][]pt{l.String(): {{10, 1}, {20, 2}}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after commit got %v, want %v", got, want)
	}

	// The appender is reusable after Commit and keeps checking order
	// against what it committed.
	if _, err := app.Append(ref, l, 15, 3); !errors.Is(err, storage.ErrOutOfOrderSample) {
		t.Fatalf("append before last committed sample: err = %v, want out of order", err)
	}
	if _, err := app.Append(ref, l, 30, 3); err != nil {
		t.Fatal(err)
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	if s := st.Stats(); s.NumSamples != 3 || s.NumSeries != 1 || s.MinTime != 10 || s.MaxTime != 30 {
		t.Fatalf("Stats = %+v", s)
	}
}

func TestRollback(t *testing.T) {
	st := memstore.New()
	kept := ls("__name__", "kept")
	mustAppend(t, st, kept, pt{1, 1})

	app := st.Appender(context.Background())
	if _, err := app.Append(0, kept, 2, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Append(0, ls("__name__", "gone"), 2, 2); err != nil {
		t.Fatal(err)
	}
	if err := app.Rollback(); err != nil {
		t.Fatal(err)
	}
	// Committing after a rollback must not resurrect anything.
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	got, _ := readAll(t, st, math.MinInt64, math.MaxInt64)
	want := map[string][]pt{kept.String(): {{1, 1}}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after rollback got %v, want %v", got, want)
	}
	if s := st.Stats(); s.NumSamples != 1 {
		t.Fatalf("Stats after rollback = %+v", s)
	}

	// The pending order state is reset too: t=2 is acceptable again, with
	// another value than the rolled-back one.
	if _, err := app.Append(0, kept, 2, 20); err != nil {
		t.Fatalf("append after rollback: %v", err)
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	got, _ = readAll(t, st, math.MinInt64, math.MaxInt64)
	if fmt.Sprint(got[kept.String()]) != fmt.Sprint([]pt{{1, 1}, {2, 20}}) {
		t.Fatalf("got %v", got)
	}
}

func TestOrderAndDuplicates(t *testing.T) {
	st := memstore.New()
	l := ls("__name__", "m")
	stale := math.Float64frombits(value.StaleNaN)
	mustAppend(t, st, l, pt{100, 1}, pt{200, stale})

	app := st.Appender(context.Background())
	check := func(ts int64, v float64, want error) {
		t.Helper()
		_, err := app.Append(0, l, ts, v)
		if want == nil && err != nil || want != nil && !errors.Is(err, want) {
			t.Fatalf("Append(t=%d, v=%v) = %v, want %v", ts, v, err, want)
		}
	}
	check(50, 9, storage.ErrOutOfOrderSample)
	check(100, 9, storage.ErrOutOfOrderSample)         // older than the last sample
	check(200, 9, storage.ErrDuplicateSample)          // same ts as last, other value
	check(200, math.NaN(), storage.ErrDuplicateSample) // a plain NaN is not the stale NaN
	check(200, stale, nil)                             // same ts, bitwise same value: accepted silently

	// Within the batch the order is checked against pending samples too,
	// and a refused sample does not poison the rest of the batch.
	check(300, 3, nil)
	check(250, 3, storage.ErrOutOfOrderSample)
	check(300, 4, storage.ErrDuplicateSample)
	check(300, 3, nil)
	check(400, 4, nil)
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}

	got, _ := readAll(t, st, math.MinInt64, math.MaxInt64)
	pts := got[l.String()]
	if len(pts) != 4 {
		t.Fatalf("got %v, want 4 samples (no duplicate stored)", pts)
	}
	wantT := []int64{100, 200, 300, 400}
	for i, p := range pts {
		if p.T != wantT[i] {
			t.Fatalf("sample %d at %d, want %d (%v)", i, p.T, wantT[i], pts)
		}
	}
	if !value.IsStaleNaN(pts[1].V) {
		t.Fatalf("stale marker not kept bit-exact: %x", math.Float64bits(pts[1].V))
	}
	if pts[2].V != 3 || pts[3].V != 4 {
		t.Fatalf("values %v", pts)
	}
	if s := st.Stats(); s.NumSamples != 4 {
		t.Fatalf("Stats = %+v, want 4 samples", s)
	}
}

func TestAppendLabelValidationAndRefs(t *testing.T) {
	st := memstore.New()
	app := st.Appender(context.Background())
	if _, err := app.Append(0, labels.EmptyLabels(), 1, 1); !errors.Is(err, storage.ErrEmptyLabels) {
		t.Fatalf("empty labels: err = %v", err)
	}
	dup := labels.New(labels.Label{Name: "a", Value: "1"}, labels.Label{Name: "a", Value: "2"})
	if _, err := app.Append(0, dup, 1, 1); !errors.Is(err, storage.ErrDuplicateLabelName) {
		t.Fatalf("duplicate label names: err = %v", err)
	}

	l1, l2 := ls("__name__", "a"), ls("__name__", "b")
	r1, err := app.Append(0, l1, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := app.Append(0, l2, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if r1 == 0 || r2 == 0 || r1 == r2 {
		t.Fatalf("refs %d %d: want distinct non-zero", r1, r2)
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}

	// Another appender gets the same ref for the same labels, and a known
	// ref is enough on its own (labels may then be anything, even empty).
	app2 := st.Appender(context.Background())
	if r, err := app2.Append(0, l1, 2, 2); err != nil || r != r1 {
		t.Fatalf("same labels: ref %d err %v, want ref %d", r, err, r1)
	}
	if r, err := app2.Append(r2, labels.EmptyLabels(), 2, 2); err != nil || r != r2 {
		t.Fatalf("by ref: ref %d err %v, want %d", r, err, r2)
	}
	// An unknown ref falls back to the labels.
	l3 := ls("__name__", "c")
	r3, err := app2.Append(9999, l3, 2, 2)
	if err != nil || r3 == 0 || r3 == 9999 {
		t.Fatalf("unknown ref: ref %d err %v", r3, err)
	}
	if err := app2.Commit(); err != nil {
		t.Fatal(err)
	}
	got, _ := readAll(t, st, math.MinInt64, math.MaxInt64)
	want := map[string][]pt{
		l1.String(): {{1, 1}, {2, 2}},
		l2.String(): {{1, 1}, {2, 2}},
		l3.String(): {{2, 2}},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// The caller may reuse its labels slice after Append; the store must have
// copied what it keeps.
func TestAppendCopiesLabels(t *testing.T) {
	st := memstore.New()
	b := labels.NewScratchBuilder(2)
	b.Add("__name__", "m")
	b.Add("a", "1")
	l := b.Labels()
	mustAppend(t, st, l, pt{1, 1})
	b.Reset()
	b.Add("__name__", "zzz")
	b.Add("a", "2")
	_ = b.Labels()
	got, _ := readAll(t, st, math.MinInt64, math.MaxInt64)
	if _, ok := got[`{__name__="m", a="1"}`]; !ok {
		t.Fatalf("stored labels changed: %v", keys(got))
	}
}

func TestConcurrentAppendersDistinctSeries(t *testing.T) {
	st := memstore.New()
	const writers, perWriter, batch = 8, 500, 50
	var wg sync.WaitGroup
	errc := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			l := ls("__name__", "m", "writer", fmt.Sprint(w))
			app := st.Appender(context.Background())
			var ref storage.SeriesRef
			for i := range perWriter {
				var err error
				if ref, err = app.Append(ref, l, int64(i), float64(i)); err != nil {
					errc <- err
					return
				}
				if (i+1)%batch == 0 {
					if err := app.Commit(); err != nil {
						errc <- err
						return
					}
				}
			}
			errc <- app.Commit()
		})
	}
	// Readers run alongside, for the race detector.
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range 2 {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				q, _ := st.Querier(math.MinInt64, math.MaxInt64)
				ss := q.Select(context.Background(), nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", "m"))
				for ss.Next() {
					it := ss.At().Iterator(nil)
					last := int64(-1)
					for it.Next() == storage.ValFloat {
						if it.AtT() <= last {
							panic("samples out of order")
						}
						last = it.AtT()
					}
				}
				_, _ = q.LabelValues(context.Background(), "writer")
				_ = st.Stats()
				_ = q.Close()
			}
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Fatal(err)
		}
	}

	got, _ := readAll(t, st, math.MinInt64, math.MaxInt64)
	if len(got) != writers {
		t.Fatalf("%d series, want %d", len(got), writers)
	}
	for k, pts := range got {
		if len(pts) != perWriter {
			t.Fatalf("%s: %d samples, want %d", k, len(pts), perWriter)
		}
		for i, p := range pts {
			if p.T != int64(i) || p.V != float64(i) {
				t.Fatalf("%s: sample %d = %v", k, i, p)
			}
		}
	}
	if s := st.Stats(); s.NumSeries != writers || s.NumSamples != writers*perWriter || s.MinTime != 0 || s.MaxTime != perWriter-1 {
		t.Fatalf("Stats = %+v", s)
	}
}

// Appenders racing on one series: every attempt ends up exactly once as a
// stored sample, an Append error (out of order) or a commit-time rejection,
// and what is stored stays strictly ordered.
func TestConcurrentAppendersSharedSeries(t *testing.T) {
	st := memstore.New()
	l := ls("__name__", "shared")
	const writers, perWriter = 6, 400
	var wg sync.WaitGroup
	var mu sync.Mutex
	appendErrs := 0
	var unexpected []error
	for w := range writers {
		wg.Go(func() {
			app := st.Appender(context.Background())
			var ref storage.SeriesRef
			for i := range perWriter {
				ts := int64(i*writers + w) // unique per writer
				r, err := app.Append(ref, l, ts, float64(ts))
				switch {
				case err == nil:
					ref = r
				case errors.Is(err, storage.ErrOutOfOrderSample):
					mu.Lock()
					appendErrs++
					mu.Unlock()
				default:
					mu.Lock()
					unexpected = append(unexpected, err)
					mu.Unlock()
				}
				if i%3 == 2 {
					_ = app.Commit()
				}
			}
			_ = app.Commit()
		})
	}
	wg.Wait()
	if len(unexpected) > 0 {
		t.Fatalf("unexpected errors: %v", unexpected)
	}

	got, _ := readAll(t, st, math.MinInt64, math.MaxInt64)
	pts := got[l.String()]
	for i := 1; i < len(pts); i++ {
		if pts[i].T <= pts[i-1].T {
			t.Fatalf("stored samples not strictly increasing at %d: %v %v", i, pts[i-1], pts[i])
		}
	}
	for _, p := range pts {
		if p.V != float64(p.T) {
			t.Fatalf("sample %v has another writer's value", p)
		}
	}
	total := writers * perWriter
	if n := len(pts) + appendErrs + int(st.RejectedSamples()); n != total {
		t.Fatalf("stored %d + append errors %d + rejected %d = %d, want %d",
			len(pts), appendErrs, st.RejectedSamples(), n, total)
	}
	if s := st.Stats(); s.NumSamples != uint64(len(pts)) {
		t.Fatalf("Stats.NumSamples = %d, stored %d", s.NumSamples, len(pts))
	}
	if len(pts) == 0 {
		t.Fatal("nothing stored")
	}
}

func matcher(t testing.TB, typ labels.MatchType, name, val string) *labels.Matcher {
	t.Helper()
	m, err := labels.NewMatcher(typ, name, val)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func selectFixture(t *testing.T) *memstore.Store {
	st := memstore.New()
	// Created deliberately out of label order: Select must sort.
	for _, l := range []labels.Labels{
		ls("__name__", "up", "job", "b", "instance", "2"),
		ls("__name__", "other", "foo", "x"),
		ls("__name__", "up", "job", "a", "instance", "1"),
		ls("__name__", "other"),
		ls("__name__", "up", "job", "a"),
		ls("__name__", "other", "foo", "a"),
		ls("__name__", "other", "foo", "b", "job", "a"),
	} {
		mustAppend(t, st, l, pt{10, 1})
	}
	return st
}

func TestSelectMatchers(t *testing.T) {
	st := selectFixture(t)
	const (
		upA   = `{__name__="up", instance="1", job="a"}`
		upA0  = `{__name__="up", job="a"}`
		upB   = `{__name__="up", instance="2", job="b"}`
		oNone = `{__name__="other"}`
		oX    = `{__name__="other", foo="x"}`
		oA    = `{__name__="other", foo="a"}`
		oB    = `{__name__="other", foo="b", job="a"}`
	)
	eq, ne, re, nre := labels.MatchEqual, labels.MatchNotEqual, labels.MatchRegexp, labels.MatchNotRegexp
	type m = struct {
		typ       labels.MatchType
		name, val string
	}
	for _, tc := range []struct {
		name string
		ms   []m
		want []string
	}{
		{"no matchers selects all", nil, []string{oNone, oA, oB, oX, upA, upA0, upB}},
		{"equal", []m{{eq, "__name__", "up"}}, []string{upA, upA0, upB}},
		{"equal two labels", []m{{eq, "__name__", "up"}, {eq, "job", "a"}}, []string{upA, upA0}},
		{"equal no such value", []m{{eq, "job", "zzz"}}, nil},
		{"equal no such label", []m{{eq, "nolabel", "x"}}, nil},
		{"not equal includes series without the label", []m{{ne, "job", "a"}}, []string{oNone, oA, oX, upB}},
		{"regexp", []m{{re, "job", "a|b"}}, []string{oB, upA, upA0, upB}},
		{"regexp is anchored", []m{{re, "foo", "x|"}, {eq, "__name__", "other"}}, []string{oNone, oX}},
		{"not regexp", []m{{nre, "job", "a"}, {eq, "__name__", "up"}}, []string{upB}},
		{"empty equal selects series without label", []m{{eq, "foo", ""}}, []string{oNone, upA, upA0, upB}},
		{"empty equal with name", []m{{eq, "__name__", "other"}, {eq, "foo", ""}}, []string{oNone}},
		{"not equal x", []m{{eq, "__name__", "other"}, {ne, "foo", "x"}}, []string{oNone, oA, oB}},
		{"regexp matching empty or a", []m{{eq, "__name__", "other"}, {re, "foo", "|a"}}, []string{oNone, oA}},
		{"not regexp matching empty", []m{{nre, "foo", "x|a"}}, []string{oNone, oB, upA, upA0, upB}},
		{"not equal empty means label present", []m{{ne, "foo", ""}}, []string{oA, oB, oX}},
		{"regexp .+ means label present", []m{{re, "instance", ".+"}}, []string{upA, upB}},
		{"regexp .* matches everything", []m{{re, "instance", ".*"}}, []string{oNone, oA, oB, oX, upA, upA0, upB}},
		{"not regexp .+ means label absent", []m{{nre, "instance", ".+"}, {eq, "__name__", "up"}}, []string{upA0}},
		{"only empty-matching matchers", []m{{ne, "job", "a"}, {eq, "instance", ""}}, []string{oNone, oA, oX}},
		{"contradiction", []m{{eq, "job", "a"}, {eq, "job", "b"}}, nil},
		{"intersection to nothing then empty matcher", []m{{eq, "job", "b"}, {eq, "__name__", "other"}, {eq, "foo", ""}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ms []*labels.Matcher
			for _, x := range tc.ms {
				ms = append(ms, matcher(t, x.typ, x.name, x.val))
			}
			got, order := readAll(t, st, math.MinInt64, math.MaxInt64, ms...)
			want := slices.Clone(tc.want)
			slices.SortFunc(want, func(a, b string) int { return strings.Compare(a, b) })
			if !slices.Equal(keys(got), want) {
				t.Fatalf("selected\n  %v\nwant\n  %v", keys(got), want)
			}
			// Returned in label order.
			sorted := slices.IsSortedFunc(order, func(a, b string) int {
				la, _ := parseKey(a)
				lb, _ := parseKey(b)
				return labels.Compare(la, lb)
			})
			if !sorted {
				t.Fatalf("not sorted by labels: %v", order)
			}
		})
	}
}

// parseKey turns a Labels.String() back into labels (test fixture labels
// have no quotes or commas in values).
func parseKey(s string) (labels.Labels, error) {
	s = strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
	var kv []string
	for part := range strings.SplitSeq(s, ", ") {
		n, v, ok := strings.Cut(part, "=")
		if !ok {
			return labels.EmptyLabels(), fmt.Errorf("bad key %q", s)
		}
		kv = append(kv, n, strings.Trim(v, `"`))
	}
	return ls(kv...), nil
}

func TestSelectTimeRange(t *testing.T) {
	st := memstore.New()
	a := ls("__name__", "a")
	b := ls("__name__", "b")
	var pts []pt
	for ts := int64(0); ts <= 100; ts += 10 {
		pts = append(pts, pt{ts, float64(ts)})
	}
	mustAppend(t, st, a, pts...)
	mustAppend(t, st, b, pt{200, 1}, pt{300, 2})

	for _, tc := range []struct {
		mint, maxt int64
		want       map[string][]pt
	}{
		{30, 50, map[string][]pt{a.String(): {{30, 30}, {40, 40}, {50, 50}}}}, // both ends inclusive
		{25, 55, map[string][]pt{a.String(): {{30, 30}, {40, 40}, {50, 50}}}},
		{100, 200, map[string][]pt{a.String(): {{100, 100}}, b.String(): {{200, 1}}}},
		{101, 199, map[string][]pt{}}, // no samples: no series at all
		{-100, -1, map[string][]pt{}},
		{301, 400, map[string][]pt{}},
		{math.MinInt64, math.MaxInt64, map[string][]pt{a.String(): pts, b.String(): {{200, 1}, {300, 2}}}},
	} {
		got, _ := readAll(t, st, tc.mint, tc.maxt)
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("[%d, %d]: got %v, want %v", tc.mint, tc.maxt, got, tc.want)
		}
	}
}

func TestLabelNamesAndValues(t *testing.T) {
	st := selectFixture(t)
	// A series that only exists later in time.
	mustAppend(t, st, ls("__name__", "late", "zone", "eu"), pt{1000, 1})
	ctx := context.Background()

	q, _ := st.Querier(math.MinInt64, math.MaxInt64)
	defer q.Close()
	names, err := q.LabelNames(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"__name__", "foo", "instance", "job", "zone"}; !slices.Equal(names, want) {
		t.Fatalf("LabelNames() = %v, want %v", names, want)
	}
	names, err = q.LabelNames(ctx, matcher(t, labels.MatchEqual, "__name__", "up"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"__name__", "instance", "job"}; !slices.Equal(names, want) {
		t.Fatalf("LabelNames(up) = %v, want %v", names, want)
	}
	names, err = q.LabelNames(ctx, matcher(t, labels.MatchEqual, "job", "nope"))
	if err != nil || len(names) != 0 {
		t.Fatalf("LabelNames(no match) = %v, %v", names, err)
	}

	vals, err := q.LabelValues(ctx, "job")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a", "b"}; !slices.Equal(vals, want) {
		t.Fatalf("LabelValues(job) = %v, want %v", vals, want)
	}
	vals, err = q.LabelValues(ctx, "__name__")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"late", "other", "up"}; !slices.Equal(vals, want) {
		t.Fatalf("LabelValues(__name__) = %v, want %v", vals, want)
	}
	vals, err = q.LabelValues(ctx, "foo", matcher(t, labels.MatchNotEqual, "foo", "x"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a", "b"}; !slices.Equal(vals, want) {
		t.Fatalf("LabelValues(foo, foo!=x) = %v, want %v", vals, want)
	}
	vals, err = q.LabelValues(ctx, "job", matcher(t, labels.MatchEqual, "__name__", "other"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a"}; !slices.Equal(vals, want) {
		t.Fatalf("LabelValues(job, other) = %v, want %v", vals, want)
	}
	vals, err = q.LabelValues(ctx, "missing")
	if err != nil || len(vals) != 0 {
		t.Fatalf("LabelValues(missing) = %v, %v", vals, err)
	}

	// The time range applies: before t=1000 the late series does not exist.
	early, _ := st.Querier(0, 999)
	defer early.Close()
	names, _ = early.LabelNames(ctx)
	if slices.Contains(names, "zone") {
		t.Fatalf("LabelNames over [0,999] includes a label of a later series: %v", names)
	}
	vals, _ = early.LabelValues(ctx, "__name__")
	if want := []string{"other", "up"}; !slices.Equal(vals, want) {
		t.Fatalf("LabelValues(__name__) over [0,999] = %v, want %v", vals, want)
	}
	late, _ := st.Querier(500, 2000)
	defer late.Close()
	vals, _ = late.LabelValues(ctx, "__name__")
	if want := []string{"late"}; !slices.Equal(vals, want) {
		t.Fatalf("LabelValues(__name__) over [500,2000] = %v, want %v", vals, want)
	}
}

func TestCanceledContext(t *testing.T) {
	st := selectFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	q, _ := st.Querier(math.MinInt64, math.MaxInt64)
	defer q.Close()
	ss := q.Select(ctx, nil)
	if ss.Next() {
		t.Fatal("Select with a canceled context returned series")
	}
	if !errors.Is(ss.Err(), context.Canceled) {
		t.Fatalf("Select err = %v, want context.Canceled", ss.Err())
	}
	if _, err := q.LabelNames(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("LabelNames err = %v", err)
	}
	if _, err := q.LabelValues(ctx, "job"); !errors.Is(err, context.Canceled) {
		t.Fatalf("LabelValues err = %v", err)
	}
}

func TestTruncate(t *testing.T) {
	st := memstore.New()
	old := ls("__name__", "old", "only", "here")
	mixed := ls("__name__", "mixed")
	recent := ls("__name__", "recent")
	mustAppend(t, st, old, pt{0, 1}, pt{10, 2}, pt{20, 3})
	mustAppend(t, st, mixed, pt{0, 1}, pt{30, 2}, pt{50, 3}, pt{70, 4})
	mustAppend(t, st, recent, pt{60, 1})
	if s := st.Stats(); s.NumSeries != 3 || s.NumSamples != 8 || s.MinTime != 0 || s.MaxTime != 70 {
		t.Fatalf("Stats before = %+v", s)
	}

	// A reader that has its series set and is half-way through a series
	// when retention runs.
	q, _ := st.Querier(math.MinInt64, math.MaxInt64)
	ss := q.Select(context.Background(), nil, matcher(t, labels.MatchRegexp, "__name__", "old|mixed"))
	if !ss.Next() {
		t.Fatal("no series")
	}
	first := ss.At()
	it := first.Iterator(nil)
	if it.Next() != storage.ValFloat {
		t.Fatal("empty iterator")
	}

	st.Truncate(50)

	// The open reader still sees its snapshot, in full.
	var gotFirst []pt
	ts, v := it.At()
	gotFirst = append(gotFirst, pt{ts, v})
	for it.Next() == storage.ValFloat {
		ts, v := it.At()
		gotFirst = append(gotFirst, pt{ts, v})
	}
	rest, _ := drain(t, ss)
	if first.Labels().String() != mixed.String() ||
		fmt.Sprint(gotFirst) != fmt.Sprint([]pt{{0, 1}, {30, 2}, {50, 3}, {70, 4}}) {
		t.Fatalf("open reader, first series %s: %v", first.Labels(), gotFirst)
	}
	if fmt.Sprint(rest) != fmt.Sprint(map[string][]pt{old.String(): {{0, 1}, {10, 2}, {20, 3}}}) {
		t.Fatalf("open reader, rest: %v", rest)
	}
	_ = q.Close()

	// New readers see the truncated store.
	got, _ := readAll(t, st, math.MinInt64, math.MaxInt64)
	want := map[string][]pt{mixed.String(): {{50, 3}, {70, 4}}, recent.String(): {{60, 1}}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after truncate got %v, want %v", got, want)
	}
	if s := st.Stats(); s.NumSeries != 2 || s.NumSamples != 3 || s.MinTime != 50 || s.MaxTime != 70 {
		t.Fatalf("Stats after = %+v", s)
	}
	// The emptied series is gone from the index too.
	q2, _ := st.Querier(math.MinInt64, math.MaxInt64)
	defer q2.Close()
	if names, _ := q2.LabelNames(context.Background()); slices.Contains(names, "only") {
		t.Fatalf("label of a removed series still listed: %v", names)
	}
	if got, _ := readAll(t, st, math.MinInt64, math.MaxInt64, matcher(t, labels.MatchEqual, "only", "")); len(got) != 2 {
		t.Fatalf("only=\"\" selected %v", keys(got))
	}

	// A removed series can come back, and Truncate below every sample is a no-op.
	mustAppend(t, st, old, pt{80, 5})
	st.Truncate(0)
	got, _ = readAll(t, st, math.MinInt64, math.MaxInt64, matcher(t, labels.MatchEqual, "only", "here"))
	if fmt.Sprint(got) != fmt.Sprint(map[string][]pt{old.String(): {{80, 5}}}) {
		t.Fatalf("recreated series: %v", got)
	}
	// Truncating everything empties the store.
	st.Truncate(1000)
	if s := st.Stats(); s != (storage.Stats{}) {
		t.Fatalf("Stats after truncating all = %+v", s)
	}
}

// A series created by an open appender has no samples until Commit; a
// retention run in between must not lose the commit.
func TestTruncateBetweenAppendAndCommit(t *testing.T) {
	st := memstore.New()
	l := ls("__name__", "fresh")
	app := st.Appender(context.Background())
	ref, err := app.Append(0, l, 100, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.Append(ref, l, 110, 2); err != nil {
		t.Fatal(err)
	}
	st.Truncate(50)
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	got, _ := readAll(t, st, math.MinInt64, math.MaxInt64)
	want := map[string][]pt{l.String(): {{100, 1}, {110, 2}}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if s := st.Stats(); s.NumSeries != 1 || s.NumSamples != 2 {
		t.Fatalf("Stats = %+v", s)
	}
	// The stale ref keeps working for the next batch.
	app = st.Appender(context.Background())
	if _, err := app.Append(ref, l, 120, 3); err != nil {
		t.Fatal(err)
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	got, _ = readAll(t, st, math.MinInt64, math.MaxInt64)
	if len(got[l.String()]) != 3 || len(got) != 1 {
		t.Fatalf("got %v", got)
	}
}

func TestTruncateConcurrentWithReadersAndWriters(t *testing.T) {
	st := memstore.New()
	const n = 2000
	var wg sync.WaitGroup
	wg.Go(func() {
		app := st.Appender(context.Background())
		for i := range n {
			l := ls("__name__", "m", "s", fmt.Sprint(i%20))
			if _, err := app.Append(0, l, int64(i), float64(i)); err != nil {
				panic(err)
			}
			if i%10 == 9 {
				_ = app.Commit()
			}
		}
		_ = app.Commit()
	})
	wg.Go(func() {
		for i := 0; i < n; i += 50 {
			st.Truncate(int64(i - 500))
		}
	})
	wg.Go(func() {
		for range 100 {
			q, _ := st.Querier(math.MinInt64, math.MaxInt64)
			ss := q.Select(context.Background(), nil)
			for ss.Next() {
				it := ss.At().Iterator(nil)
				for it.Next() != storage.ValNone {
				}
			}
			_, _ = q.LabelValues(context.Background(), "s")
			_ = q.Close()
		}
	})
	wg.Wait()
	// Everything at or after the last truncation point is there.
	got, _ := readAll(t, st, math.MinInt64, math.MaxInt64)
	total := 0
	for _, pts := range got {
		total += len(pts)
	}
	if s := st.Stats(); int(s.NumSamples) != total || int(s.NumSeries) != len(got) {
		t.Fatalf("Stats %+v disagree with content: %d series, %d samples", s, len(got), total)
	}
	if total < 500 {
		t.Fatalf("only %d samples survived", total)
	}
}

func TestIterator(t *testing.T) {
	st := memstore.New()
	l := ls("__name__", "m")
	mustAppend(t, st, l, pt{10, 1}, pt{20, 2}, pt{30, 3}, pt{40, 4})
	q, _ := st.Querier(math.MinInt64, math.MaxInt64)
	defer q.Close()
	ss := q.Select(context.Background(), nil)
	if !ss.Next() {
		t.Fatal("no series")
	}
	s := ss.At()
	if ss.Next() {
		t.Fatal("more than one series")
	}

	it := s.Iterator(nil)
	at := func(wantT int64, wantV float64) {
		t.Helper()
		ts, v := it.At()
		if ts != wantT || v != wantV || it.AtT() != wantT {
			t.Fatalf("At() = %d,%v AtT() = %d; want %d,%v", ts, v, it.AtT(), wantT, wantV)
		}
	}
	expect := func(got, want storage.ValueType) {
		t.Helper()
		if got != want {
			t.Fatalf("got value type %v, want %v", got, want)
		}
	}
	// SeekTo before the first sample on a fresh iterator lands on the first.
	expect(it.SeekTo(5), storage.ValFloat)
	at(10, 1)
	// SeekTo exactly onto a sample.
	expect(it.SeekTo(20), storage.ValFloat)
	at(20, 2)
	// SeekTo between samples lands on the next one.
	expect(it.SeekTo(25), storage.ValFloat)
	at(30, 3)
	// SeekTo never moves backwards.
	expect(it.SeekTo(10), storage.ValFloat)
	at(30, 3)
	expect(it.SeekTo(30), storage.ValFloat)
	at(30, 3)
	// Next continues from the seek position.
	expect(it.Next(), storage.ValFloat)
	at(40, 4)
	expect(it.Next(), storage.ValNone)
	expect(it.Next(), storage.ValNone)
	expect(it.SeekTo(0), storage.ValNone)
	if it.Err() != nil {
		t.Fatal(it.Err())
	}

	// Reuse resets to before the first sample.
	it = s.Iterator(it)
	expect(it.Next(), storage.ValFloat)
	at(10, 1)
	// SeekTo past the end.
	it = s.Iterator(it)
	expect(it.SeekTo(41), storage.ValNone)
	expect(it.Next(), storage.ValNone)

	// A fresh iterator's SeekTo to the exact first sample, then Next.
	it = s.Iterator(nil)
	expect(it.SeekTo(10), storage.ValFloat)
	at(10, 1)
	expect(it.Next(), storage.ValFloat)
	at(20, 2)

	// Iterators of the same series are independent.
	a, b := s.Iterator(nil), s.Iterator(nil)
	a.Next()
	a.Next()
	b.Next()
	if a.AtT() != 20 || b.AtT() != 10 {
		t.Fatalf("iterators share state: %d %d", a.AtT(), b.AtT())
	}

	// The time range of the querier bounds the iterator.
	q2, _ := st.Querier(15, 35)
	defer q2.Close()
	ss = q2.Select(context.Background(), nil)
	ss.Next()
	it = ss.At().Iterator(nil)
	expect(it.SeekTo(0), storage.ValFloat)
	at(20, 2)
	expect(it.SeekTo(31), storage.ValNone)
}

func TestStatsEmpty(t *testing.T) {
	st := memstore.New()
	if s := st.Stats(); s != (storage.Stats{}) {
		t.Fatalf("empty store Stats = %+v", s)
	}
	// A series created and rolled back has no samples: it does not move
	// MinTime/MaxTime off zero.
	app := st.Appender(context.Background())
	_, _ = app.Append(0, ls("__name__", "x"), 500, 1)
	_ = app.Rollback()
	if s := st.Stats(); s.NumSamples != 0 || s.MinTime != 0 || s.MaxTime != 0 {
		t.Fatalf("Stats after rollback = %+v", s)
	}
	// Negative timestamps are valid and bound the range.
	mustAppend(t, st, ls("__name__", "neg"), pt{-300, 1}, pt{-200, 1})
	mustAppend(t, st, ls("__name__", "pos"), pt{700, 1})
	if s := st.Stats(); s.NumSamples != 3 || s.MinTime != -300 || s.MaxTime != 700 {
		t.Fatalf("Stats = %+v", s)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestSelectMatchersAgainstScan checks selection over sets large enough
// for every strategy of the index (merged postings, subtraction, label
// checks on many or few candidates) against checking each series' labels.
func TestSelectMatchersAgainstScan(t *testing.T) {
	st := memstore.New()
	var all []labels.Labels
	for i := range 300 {
		kv := []string{"__name__", fmt.Sprintf("m%d", i%7), "i", fmt.Sprint(i)}
		if i%3 != 0 {
			kv = append(kv, "common", fmt.Sprint(i%5)) // on most series
		}
		if i%40 == 0 {
			kv = append(kv, "rare", fmt.Sprint(i%3)) // on few
		}
		lset := ls(kv...)
		all = append(all, lset)
		mustAppend(t, st, lset, pt{1, float64(i)})
	}
	eq, ne, re, nre := labels.MatchEqual, labels.MatchNotEqual, labels.MatchRegexp, labels.MatchNotRegexp
	types := []labels.MatchType{eq, ne, re, nre}
	names := []string{"__name__", "common", "rare", "absent"}
	values := []string{"", "0", "m3", ".+", "0|1|"}
	// Every combination of one or two matchers.
	var sets [][]*labels.Matcher
	var singles []*labels.Matcher
	for _, typ := range types {
		for _, n := range names {
			for _, v := range values {
				if (typ == eq || typ == ne) && strings.ContainsAny(v, ".|[") {
					continue
				}
				singles = append(singles, matcher(t, typ, n, v))
			}
		}
	}
	for i, a := range singles {
		sets = append(sets, []*labels.Matcher{a})
		for _, b := range singles[i+1:] {
			sets = append(sets, []*labels.Matcher{a, b})
		}
	}
	for _, ms := range sets {
		var want []string
		for _, lset := range all {
			ok := true
			for _, m := range ms {
				ok = ok && m.Matches(lset.Get(m.Name))
			}
			if ok {
				want = append(want, lset.String())
			}
		}
		slices.Sort(want)
		got, _ := readAll(t, st, math.MinInt64, math.MaxInt64, ms...)
		if !slices.Equal(keys(got), want) {
			t.Fatalf("%v: selected %d series, want %d", ms, len(got), len(want))
		}
	}
}
