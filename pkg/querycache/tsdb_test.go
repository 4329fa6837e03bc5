package querycache

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/promql"
)

// On the real TSDB: scrapes at the newest time are one change of every
// series over their times, which only the fresh tail reads; a late sample
// of one series drops only the extents whose selectors pick that series.
func TestTSDBChangesInvalidateOnlyWhatTheyTouch(t *testing.T) {
	w := newWorld(t, rand.New(rand.NewPCG(7, 7)))
	store := &countingStore{Queryable: w.db}
	engine := promql.NewEngine(promql.EngineOpts{})
	c := New(Options{Engine: engine, Storage: store, Feed: w.db, Now: w.clock.now,
		Config: Config{Enabled: true, MaxBytes: 64 << 20, Freshness: freshness}})
	ask := func(expr string, start, end time.Time) int {
		t.Helper()
		before := store.count()
		got, err := c.Range(context.Background(), expr, start, end, time.Minute, promql.QueryOpts{})
		if err != nil {
			t.Fatal(err)
		}
		want, err := fresh(t, engine, w.db, expr, start, end, time.Minute, promql.QueryOpts{})
		if err != nil {
			t.Fatal(err)
		}
		if err := sameResult(want, got); err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return store.count() - before
	}
	now := w.clock.now()
	start := now.Add(-30 * time.Hour)
	ask(`g{i="0"}`, start, now)
	ask(`g{i="1"}`, start, now)

	invalidated := func() float64 { return testutil.ToFloat64(c.m.invalidations.WithLabelValues(invalidChanged)) }
	// Scrapes at the head: nothing cached is dropped; the query evaluates
	// the minute that left the freshness window and the fresh tail.
	w.clock.set(now.Add(time.Minute))
	w.appendUntil(now.Add(time.Minute).UnixMilli())
	if n := ask(`g{i="0"}`, start, now.Add(time.Minute)); n != 2 || invalidated() != 0 {
		t.Fatalf("after appends at the head %d evaluations, %v extents dropped", n, invalidated())
	}
	// A late sample of g{i="1"} two hours back.
	app := w.db.Appender(context.Background())
	ts := now.Add(-2*time.Hour).UnixMilli() + 30_000
	if _, err := app.Append(0, labels.FromStrings("__name__", "g", "i", "1"), ts, 1234); err != nil {
		t.Fatal(err)
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	if n := ask(`g{i="0"}`, start, now.Add(time.Minute)); n != 1 || invalidated() != 1 {
		t.Fatalf("a late sample of g{i=\"1\"}: g{i=\"0\"} took %d evaluations, %v extents dropped", n, invalidated())
	}
	// g{i="1"}: the day of the late sample again, the minute that left the
	// freshness window since it was asked, and the tail.
	if n := ask(`g{i="1"}`, start, now.Add(time.Minute)); n != 3 {
		t.Fatalf("a late sample of g{i=\"1\"} cost %d evaluations, want 3", n)
	}
}
