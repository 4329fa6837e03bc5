package querycache

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/graftlabs/graft/pkg/promql"
	"github.com/graftlabs/graft/pkg/storage"
	"github.com/graftlabs/graft/pkg/storage/tsdb"
)

// base is the start of the simulated "now"; data begins three days earlier.
var base = time.Date(2024, 1, 10, 0, 20, 0, 0, time.UTC)

const (
	oooWindow = 6 * time.Hour
	freshness = 10 * time.Minute
)

// propertyExprs cover selectors, range functions, aggregations, offsets
// both ways, a fixed @, subqueries on odd steps, histograms, queries
// without selectors, ones that carry annotations and ones that read the
// query's range (bypassed).
var propertyExprs = []string{
	`a_total`,
	`rate(a_total[5m])`,
	`sum by (j) (rate(a_total[10m]))`,
	`g`,
	`g{i="1"} + on() group_left g{i="2"}`,
	`avg_over_time(g[1h])`,
	`max_over_time(g[30m] offset 1h)`,
	`g offset -30m`,
	`g @ 1704790800`,
	`sum(g) / count(g)`,
	`rate(a_total[5m:1m])`,
	`max_over_time(rate(a_total[5m])[1h:7m])`,
	`timestamp(g)`,
	`count_over_time(g[1d])`,
	`deriv(g[15m])`,
	`last_over_time(a_total{i="9"}[2h])`,
	`histogram_count(rate(h[5m]))`,
	`histogram_quantile(0.9, sum(rate(h[10m])))`,
	`vector(1)`,
	`absent(nothing)`,
	`rate(g[5m])`,
	`g @ start()`,
	`g - g offset 1d`,
	`topk(2, g)`,
}

// TestCacheEqualsFreshEvaluation is the cache's correctness property: on
// the real TSDB and engine, with random appends, late samples inside the
// out-of-order window, new series appearing in the past, retention
// deletions and compactions between random (often repeated) range
// queries, every cached answer equals a fresh evaluation.
func TestCacheEqualsFreshEvaluation(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("QUERYCACHE_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (QUERYCACHE_SEED reruns it)", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	w := newWorld(t, rng)
	maxBytes := int64(64 << 20)
	if rng.IntN(3) == 0 {
		maxBytes = 200 << 10 // evictions too
	}
	engine := promql.NewEngine(promql.EngineOpts{})
	c := New(Options{Engine: engine, Storage: w.db, Feed: w.db, Now: w.clock.now,
		Config: Config{Enabled: true, MaxBytes: maxBytes, Freshness: freshness}})
	rounds := 40
	if testing.Short() {
		rounds = 10
	}
	var pool []propQuery
	for round := range rounds {
		w.mutate()
		for range 12 {
			q := w.pickQuery(pool)
			pool = append(pool, q)
			if err := w.check(c, engine, q); err != nil {
				t.Fatalf("round %d, %s: %v", round, q, err)
			}
		}
	}
	hits := testutil.ToFloat64(c.m.hits)
	t.Logf("requests %.0f hits %.0f invalidations %.0f evictions %.0f", testutil.ToFloat64(c.m.requests), hits,
		testutil.ToFloat64(c.m.invalidations.WithLabelValues(invalidChanged)), testutil.ToFloat64(c.m.evictions))
	if hits == 0 {
		t.Fatal("no query was answered from the cache")
	}
}

// world is the simulated storage and clock.
type world struct {
	t     *testing.T
	rng   *rand.Rand
	db    *tsdb.DB
	clock *clock
	head  int64 // newest in-order sample time
	mint  int64 // retention so far
	vals  map[string]float64
}

func newWorld(t *testing.T, rng *rand.Rand) *world {
	db, err := tsdb.Open(t.TempDir(), tsdb.Options{
		OutOfOrderTimeWindow: oooWindow, MaintenanceInterval: time.Hour, Retention: 30 * 24 * time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	w := &world{t: t, rng: rng, db: db, clock: &clock{t: base}, vals: map[string]float64{}}
	w.head = base.Add(-72 * time.Hour).UnixMilli()
	w.mint = w.head
	w.appendUntil(base.UnixMilli())
	return w
}

var (
	counterLabels = []labels.Labels{
		labels.FromStrings("__name__", "a_total", "i", "0", "j", "x"),
		labels.FromStrings("__name__", "a_total", "i", "1", "j", "x"),
		labels.FromStrings("__name__", "a_total", "i", "2", "j", "y"),
	}
	gaugeLabels = []labels.Labels{
		labels.FromStrings("__name__", "g", "i", "0"),
		labels.FromStrings("__name__", "g", "i", "1"),
		labels.FromStrings("__name__", "g", "i", "2"),
	}
	histLabels = labels.FromStrings("__name__", "h", "i", "0")
	lateSeries = labels.FromStrings("__name__", "a_total", "i", "9", "j", "y")
)

// appendUntil appends every series in order each minute up to end, in
// commits of an hour, as scrapes would.
func (w *world) appendUntil(end int64) {
	for w.head+60_000 <= end {
		app := w.db.Appender(context.Background())
		for n := 0; n < 60 && w.head+60_000 <= end; n++ {
			w.head += 60_000
			w.appendAll(app, w.head)
		}
		if err := app.Commit(); err != nil {
			w.t.Fatal(err)
		}
	}
}

func (w *world) appendAll(app storage.Appender, ts int64) {
	for _, l := range counterLabels {
		w.add(app, l, ts, w.next(l, true))
	}
	for _, l := range gaugeLabels {
		v := w.next(l, false)
		if w.rng.IntN(200) == 0 {
			v = math.Float64frombits(value.StaleNaN)
		}
		w.add(app, l, ts, v)
	}
	n := float64(ts / 60_000 % 1000)
	h := &histogram.Histogram{
		Count: uint64(n * 3), Sum: n * 1.5, Schema: 0, ZeroThreshold: 0.001,
		PositiveSpans:   []histogram.Span{{Offset: 0, Length: 2}},
		PositiveBuckets: []int64{int64(n), int64(n)},
	}
	if _, err := app.AppendHistogram(0, histLabels, ts, h, nil); err != nil {
		w.t.Fatalf("append histogram: %v", err)
	}
}

// next is a counter's next value (resetting now and then) or a gauge's.
func (w *world) next(l labels.Labels, counter bool) float64 {
	k := l.String()
	v := w.vals[k]
	switch {
	case counter && w.rng.IntN(500) == 0:
		v = 0
	case counter:
		v += float64(w.rng.IntN(100))
	default:
		v = float64(w.rng.IntN(1000)) / 10
	}
	w.vals[k] = v
	return v
}

func (w *world) add(app storage.Appender, l labels.Labels, ts int64, v float64) {
	if _, err := app.Append(0, l, ts, v); err != nil {
		w.t.Fatalf("append %s at %d: %v", l, ts, err)
	}
}

// mutate moves time on and changes the data in a random way.
func (w *world) mutate() {
	now := w.clock.now().Add(time.Duration(1+w.rng.IntN(20)) * time.Minute)
	w.clock.set(now)
	w.appendUntil(now.UnixMilli())
	switch w.rng.IntN(6) {
	case 0, 1:
		w.appendLate(1 + w.rng.IntN(5))
	case 2:
		w.appendLateSeries()
	case 3:
		w.mint += int64(w.rng.IntN(4)) * 3600_000
		w.db.Truncate(w.mint)
	case 4:
		if err := w.db.Maintain(context.Background()); err != nil {
			w.t.Fatalf("maintain: %v", err)
		}
	}
}

// appendLate adds samples between the minutes, inside the out-of-order
// window but older than the freshness window: where extents are.
func (w *world) appendLate(n int) {
	app := w.db.Appender(context.Background())
	for range n {
		l := gaugeLabels[w.rng.IntN(len(gaugeLabels))]
		if w.rng.IntN(2) == 0 {
			l = counterLabels[w.rng.IntN(len(counterLabels))]
		}
		ts := w.lateTime()
		if _, err := app.Append(0, l, ts, w.vals[l.String()]+float64(w.rng.IntN(10))); err != nil {
			w.t.Fatalf("late append %s at %d: %v", l, ts, err)
		}
	}
	if err := app.Commit(); err != nil {
		w.t.Fatal(err)
	}
}

// lateTime is a time off the minute grid within the out-of-order window.
func (w *world) lateTime() int64 {
	back := freshness.Milliseconds() + w.rng.Int64N(oooWindow.Milliseconds()-freshness.Milliseconds()-60_000)
	ts := w.head - back
	return ts - ts%60_000 + 1 + w.rng.Int64N(59_000)
}

// appendLateSeries adds a series that did not exist, in the past.
func (w *world) appendLateSeries() {
	app := w.db.Appender(context.Background())
	ts := w.lateTime()
	for k := range int64(5) {
		if _, err := app.Append(0, lateSeries, ts+k*15_000, float64(k)); err != nil {
			// Already there from an earlier round: a repeat at that time.
			_ = app.Rollback()
			return
		}
	}
	if err := app.Commit(); err != nil {
		w.t.Fatal(err)
	}
}

// propQuery is one range query, its times relative to now when asked
// again as a moving dashboard would.
type propQuery struct {
	expr       string
	start, end time.Time
	step       time.Duration
	opts       promql.QueryOpts
}

func (q propQuery) String() string {
	return fmt.Sprintf("%s [%s, %s] step %s opts %+v", q.expr, q.start.Format(time.RFC3339), q.end.Format(time.RFC3339), q.step, q.opts)
}

var (
	propDurations = []time.Duration{30 * time.Minute, 3 * time.Hour, 12 * time.Hour, 24 * time.Hour, 48 * time.Hour, 70 * time.Hour}
	propSteps     = []time.Duration{15 * time.Second, time.Minute, 5 * time.Minute, 7 * time.Minute, time.Hour}
)

// pickQuery repeats an earlier query (as it was, or moved to now) or
// makes a new one.
func (w *world) pickQuery(pool []propQuery) propQuery {
	now := w.clock.now()
	if len(pool) > 0 && w.rng.IntN(3) > 0 {
		q := pool[w.rng.IntN(len(pool))]
		if w.rng.IntN(2) == 0 {
			d := q.end.Sub(q.start)
			q.end = now.Add(-time.Duration(w.rng.IntN(3)) * time.Minute)
			q.start = q.end.Add(-d)
		}
		return q
	}
	q := propQuery{expr: propertyExprs[w.rng.IntN(len(propertyExprs))]}
	d := propDurations[w.rng.IntN(len(propDurations))]
	q.step = propSteps[w.rng.IntN(len(propSteps))]
	for d/q.step > 11000 {
		q.step *= 4
	}
	q.end = now.Add(-time.Duration(w.rng.IntN(240)) * time.Minute)
	q.start = q.end.Add(-d)
	if w.rng.IntN(2) == 0 { // Grafana aligns to the step; the API may not
		q.start = q.start.Truncate(q.step)
	} else {
		q.start = q.start.Add(time.Duration(w.rng.IntN(60_000)) * time.Millisecond)
	}
	if w.rng.IntN(5) == 0 {
		q.opts.LookbackDelta = time.Minute
	}
	return q
}

// check asks the cache and the engine and compares.
func (w *world) check(c *Cache, e *promql.Engine, q propQuery) error {
	got, gerr := c.Range(context.Background(), q.expr, q.start, q.end, q.step, q.opts)
	want, werr := fresh(w.t, e, w.db, q.expr, q.start, q.end, q.step, q.opts)
	if gerr != nil || werr != nil {
		if fmt.Sprint(gerr) != fmt.Sprint(werr) {
			return fmt.Errorf("error %v, want %v", gerr, werr)
		}
		return nil
	}
	return sameResult(want, got)
}

// TestConcurrentQueriesAndAppends races queries against late appends: once
// the writes stop, every answer must again equal a fresh evaluation, so no
// extent computed before a change may have been kept after it.
func TestConcurrentQueriesAndAppends(t *testing.T) {
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 2))
	w := newWorld(t, rng)
	engine := promql.NewEngine(promql.EngineOpts{})
	c := New(Options{Engine: engine, Storage: w.db, Feed: w.db, Now: w.clock.now,
		Config: Config{Enabled: true, MaxBytes: 64 << 20, Freshness: freshness}})
	var queries []propQuery
	for range 8 {
		queries = append(queries, w.pickQuery(nil))
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				q := queries[(g+i)%len(queries)]
				if _, err := c.Range(context.Background(), q.expr, q.start, q.end, q.step, q.opts); err != nil && !strings.Contains(err.Error(), "11,000") {
					t.Errorf("%s: %v", q, err)
					return
				}
			}
		}()
	}
	for range 30 {
		w.appendLate(3) // the writer is this goroutine: rng is not shared
		time.Sleep(2 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	for _, q := range queries {
		if err := w.check(c, engine, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}
