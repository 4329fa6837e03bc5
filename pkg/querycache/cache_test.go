package querycache

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/promql"
	"github.com/graftlabs/graft/pkg/storage/memstore"
)

// unitNow is the clock of the unit tests: data covers the three days
// before it, a sample a minute.
var unitNow = time.Date(2024, 3, 4, 12, 0, 0, 0, time.UTC)

type unitEnv struct {
	t      *testing.T
	store  *countingStore
	feed   *fakeFeed
	engine *promql.Engine
	clock  *clock
	cache  *Cache
}

func newUnitEnv(t *testing.T, cfg Config) *unitEnv {
	t.Helper()
	ms := memstore.New()
	app := ms.Appender(context.Background())
	for ts := unitNow.Add(-72 * time.Hour).UnixMilli(); ts <= unitNow.UnixMilli(); ts += 60_000 {
		for i, name := range []string{"x", "y"} {
			l := labels.FromStrings("__name__", "m", "s", name)
			if _, err := app.Append(0, l, ts, float64(ts/60_000%97)+float64(i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	env := &unitEnv{t: t, store: &countingStore{Queryable: ms}, feed: &fakeFeed{},
		engine: promql.NewEngine(promql.EngineOpts{}), clock: &clock{t: unitNow}}
	env.cache = New(Options{Engine: env.engine, Storage: env.store, Feed: env.feed, Config: cfg,
		Now: env.clock.now, Registerer: prometheus.NewRegistry()})
	return env
}

func defaultConfig() Config {
	return Config{Enabled: true, MaxBytes: 64 << 20, Freshness: 10 * time.Minute}
}

// query asks the cache, checks the answer against the engine's and
// returns how many queriers the cache opened.
func (e *unitEnv) query(expr string, start, end time.Time, step time.Duration) int {
	e.t.Helper()
	before := e.store.count()
	got, err := e.cache.Range(context.Background(), expr, start, end, step, promql.QueryOpts{})
	if err != nil {
		e.t.Fatalf("%s: %v", expr, err)
	}
	opened := e.store.count() - before
	want, err := fresh(e.t, e.engine, e.store.Queryable, expr, start, end, step, promql.QueryOpts{})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := sameResult(want, got); err != nil {
		e.t.Fatalf("%s: %v", expr, err)
	}
	return opened
}

func (e *unitEnv) counter(c prometheus.Counter) float64 { return testutil.ToFloat64(c) }

func TestRepeatedQueryHitsWithoutEvaluating(t *testing.T) {
	env := newUnitEnv(t, defaultConfig())
	start, end := unitNow.Add(-48*time.Hour), unitNow.Add(-time.Hour)
	expr := `avg_over_time(m[5m])`
	if n := env.query(expr, start, end, time.Minute); n != 3 {
		t.Fatalf("first query opened %d queriers, want one per day piece (3)", n)
	}
	if n := env.query(expr, start, end, time.Minute); n != 0 {
		t.Fatalf("repeat opened %d queriers, want 0", n)
	}
	if h, r := env.counter(env.cache.m.hits), env.counter(env.cache.m.requests); h != 3 || r != 6 {
		t.Fatalf("hits %v requests %v, want 3 and 6", h, r)
	}
	// A wider range evaluates only what is new: the piece before start.
	if n := env.query(expr, start.Add(-6*time.Hour), end, time.Minute); n != 1 {
		t.Fatalf("wider query opened %d queriers, want 1", n)
	}
	// A narrower one inside is answered from the extents.
	if n := env.query(expr, start.Add(time.Hour), end.Add(-2*time.Hour), time.Minute); n != 0 {
		t.Fatalf("narrower query opened %d queriers, want 0", n)
	}
}

func TestStepGridAlignment(t *testing.T) {
	env := newUnitEnv(t, defaultConfig())
	start, end := unitNow.Add(-30*time.Hour), unitNow.Add(-2*time.Hour)
	env.query(`m`, start, end, 5*time.Minute)
	// Same grid, started later by whole steps: all cached.
	if n := env.query(`m`, start.Add(15*time.Minute), end, 5*time.Minute); n != 0 {
		t.Fatalf("same grid opened %d queriers", n)
	}
	// Another phase of the step: other timestamps, nothing shared.
	if n := env.query(`m`, start.Add(time.Minute), end, 5*time.Minute); n == 0 {
		t.Fatal("a query on another phase of the step was answered from the first one's points")
	}
	// Another step: other timestamps too.
	if n := env.query(`m`, start, end, 10*time.Minute); n == 0 {
		t.Fatal("a query with another step was answered from the cache")
	}
}

func TestRangeDependentQueriesBypass(t *testing.T) {
	env := newUnitEnv(t, defaultConfig())
	start, end := unitNow.Add(-30*time.Hour), unitNow.Add(-2*time.Hour)
	for _, expr := range []string{`m @ start()`, `m @ end()`, `rate(m[5m] @ end())`, `m + start()`, `m offset range()`} {
		for range 2 {
			if n := env.query(expr, start, end, 10*time.Minute); n != 1 {
				t.Fatalf("%s opened %d queriers, want one evaluation of the whole range", expr, n)
			}
		}
	}
	if got := testutil.ToFloat64(env.cache.m.bypasses.WithLabelValues(bypassExpression)); got != 10 {
		t.Fatalf("bypasses %v, want 10", got)
	}
	if env.cache.st.extents != 0 {
		t.Fatalf("%d extents kept for bypassed queries", env.cache.st.extents)
	}
}

func TestSplittable(t *testing.T) {
	p := newAnalyzer().parser
	for expr, want := range map[string]bool{
		`m`:                                     true,
		`m @ 1700000000`:                        true,
		`rate(m[5m:30s])`:                       true,
		`m offset 1h`:                           true,
		`rate(m[step()*5])`:                     true,
		`timestamp(m)`:                          true,
		`time() - timestamp(m)`:                 true,
		`m @ start()`:                           false,
		`max_over_time(m[1h:1m] @ end())`:       false,
		`m - start()`:                           false,
		`vector(end())`:                         false,
		`vector(range())`:                       false,
		`rate(m[range()])`:                      false,
		`m offset (range() / 2)`:                false,
		`avg_over_time(m[5m:min(range(), 1m)])`: false,
		`m{`:                                    false,
	} {
		if got := splittable(p, expr); got != want {
			t.Errorf("splittable(%s) = %v, want %v", expr, got, want)
		}
	}
}

func TestFreshnessWindow(t *testing.T) {
	env := newUnitEnv(t, defaultConfig())
	start := unitNow.Add(-3 * time.Hour)
	// The last 10 minutes are evaluated every time, the rest once.
	if n := env.query(`m`, start, unitNow, time.Minute); n != 2 {
		t.Fatalf("opened %d queriers, want the settled piece and the fresh tail", n)
	}
	if n := env.query(`m`, start, unitNow, time.Minute); n != 1 {
		t.Fatalf("repeat opened %d queriers, want the fresh tail only", n)
	}
	cutoff := unitNow.Add(-10 * time.Minute).UnixMilli()
	for _, e := range env.cache.st.entries {
		for _, x := range e.extents {
			if x.to > cutoff || x.deps.maxt > cutoff {
				t.Fatalf("extent %v read up to %d, after the cutoff %d", x.span, x.deps.maxt, cutoff)
			}
		}
	}
	// Entirely fresh: straight to the engine.
	env.query(`m`, unitNow.Add(-5*time.Minute), unitNow, time.Minute)
	if got := testutil.ToFloat64(env.cache.m.bypasses.WithLabelValues(bypassFresh)); got != 1 {
		t.Fatalf("fresh bypasses %v", got)
	}
	// A negative offset reads after the cutoff: evaluated, never kept.
	for range 2 {
		if n := env.query(`m offset -1h`, start, unitNow.Add(-time.Hour), time.Minute); n != 1 {
			t.Fatalf("negative offset opened %d queriers, want 1", n)
		}
	}
}

func TestInvalidation(t *testing.T) {
	env := newUnitEnv(t, defaultConfig())
	start, end := unitNow.Add(-30*time.Hour), unitNow.Add(-2*time.Hour)
	expr := `max_over_time(m{s="x"}[10m])`
	env.query(expr, start, end, time.Minute)
	mid := unitNow.Add(-20 * time.Hour).UnixMilli()

	// Another series changed: nothing to redo.
	env.feed.change(labels.FromStrings("__name__", "m", "s", "y"), mid, mid)
	env.feed.change(labels.FromStrings("__name__", "other"), mid, mid)
	if n := env.query(expr, start, end, time.Minute); n != 0 {
		t.Fatalf("changes to unselected series cost %d evaluations", n)
	}
	// Every series changed, but before what the query reads.
	env.feed.change(labels.EmptyLabels(), 0, start.Add(-time.Hour).UnixMilli())
	if n := env.query(expr, start, end, time.Minute); n != 0 {
		t.Fatalf("a change before the query's reads cost %d evaluations", n)
	}
	// The selected series changed inside today's piece only.
	env.feed.change(labels.FromStrings("__name__", "m", "s", "x"), end.Add(-time.Hour).UnixMilli(), end.Add(-time.Hour).UnixMilli())
	if n := env.query(expr, start, end, time.Minute); n != 1 {
		t.Fatalf("a change in one day cost %d evaluations, want 1", n)
	}
	// A change within the range window before a day boundary reaches the
	// next day's first steps too.
	day := time.Date(2024, 3, 4, 0, 0, 0, 0, time.UTC).UnixMilli()
	env.feed.change(labels.EmptyLabels(), day-5*60_000, day-5*60_000)
	if n := env.query(expr, start, end, time.Minute); n != 2 {
		t.Fatalf("a change 5m before midnight cost %d evaluations, want both days", n)
	}
	// History lost: everything again.
	env.feed.loseHistory()
	if n := env.query(expr, start, end, time.Minute); n != 2 {
		t.Fatalf("after lost history %d evaluations, want 2", n)
	}
	if got := testutil.ToFloat64(env.cache.m.invalidations.WithLabelValues(invalidLost)); got != 2 {
		t.Fatalf("history_lost invalidations %v, want 2", got)
	}
}

// A change that lands while a piece is being evaluated keeps that piece
// out of the cache: the evaluation may not have seen it.
func TestChangeDuringEvaluationNotKept(t *testing.T) {
	env := newUnitEnv(t, defaultConfig())
	start, end := unitNow.Add(-10*time.Hour), unitNow.Add(-2*time.Hour)
	env.store.onQuerier = func() {
		env.feed.change(labels.EmptyLabels(), start.UnixMilli(), start.UnixMilli())
	}
	env.query(`m`, start, end, time.Minute)
	env.store.onQuerier = nil
	if env.cache.st.extents != 0 {
		t.Fatalf("%d extents kept although a change raced their evaluation", env.cache.st.extents)
	}
	env.query(`m`, start, end, time.Minute)
	if n := env.query(`m`, start, end, time.Minute); n != 0 {
		t.Fatalf("third query opened %d queriers", n)
	}
}

func TestEviction(t *testing.T) {
	env := newUnitEnv(t, Config{Enabled: true, MaxBytes: 40 << 10, Freshness: 10 * time.Minute})
	start, end := unitNow.Add(-70*time.Hour), unitNow.Add(-time.Hour)
	for _, expr := range []string{`m`, `m * 2`, `m * 3`, `m * 4`} {
		env.query(expr, start, end, 5*time.Minute)
		if b := env.cache.st.bytes; b > 40<<10 {
			t.Fatalf("cache holds %d bytes, bound 40KiB", b)
		}
	}
	if env.counter(env.cache.m.evictions) == 0 {
		t.Fatal("nothing evicted")
	}
	// The most recent query's days are still there.
	if n := env.query(`m * 4`, end.Add(-6*time.Hour), end, 5*time.Minute); n != 0 {
		t.Fatalf("most recent query's pieces evicted (%d evaluations)", n)
	}
	if got := testutil.ToFloat64(env.cache.m.bytes); got != float64(env.cache.st.bytes) {
		t.Fatalf("bytes gauge %v, store %d", got, env.cache.st.bytes)
	}
}

func TestDisableFreesAndBypasses(t *testing.T) {
	env := newUnitEnv(t, defaultConfig())
	start, end := unitNow.Add(-10*time.Hour), unitNow.Add(-2*time.Hour)
	env.query(`m`, start, end, time.Minute)
	env.cache.ApplyConfig(Config{Enabled: false, MaxBytes: 64 << 20})
	if env.cache.st.bytes != 0 || env.cache.st.extents != 0 {
		t.Fatal("disabling kept the extents")
	}
	if n := env.query(`m`, start, end, time.Minute); n != 1 {
		t.Fatalf("disabled cache opened %d queriers, want the engine's one", n)
	}
	if env.counter(env.cache.m.requests) != 1 {
		t.Fatal("a disabled cache counted a request")
	}
}

func TestAnnotatedQueriesAnsweredWhole(t *testing.T) {
	env := newUnitEnv(t, defaultConfig())
	start, end := unitNow.Add(-30*time.Hour), unitNow.Add(-2*time.Hour)
	// m does not end in _total: rate adds an info annotation.
	env.query(`rate(m[5m])`, start, end, time.Minute)
	if env.cache.st.extents != 0 {
		t.Fatal("an annotated result was kept")
	}
	if n := env.query(`rate(m[5m])`, start, end, time.Minute); n != 1 {
		t.Fatalf("annotated query opened %d queriers, want one whole evaluation", n)
	}
}

func TestInvalidRangeRefused(t *testing.T) {
	env := newUnitEnv(t, defaultConfig())
	if _, err := env.cache.Range(context.Background(), `m`, unitNow, unitNow.Add(-time.Hour), time.Minute, promql.QueryOpts{}); err == nil {
		t.Fatal("end before start accepted")
	}
	if _, err := env.cache.Range(context.Background(), `m`, unitNow.Add(-72*time.Hour), unitNow, time.Second, promql.QueryOpts{}); err == nil {
		t.Fatal("more than 11,000 points accepted")
	}
}
