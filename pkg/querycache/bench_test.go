package querycache

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/promql"
	"github.com/graftlabs/graft/pkg/storage/memstore"
)

// BenchmarkRange is a dashboard panel over 7 days of 50 series sampled
// every minute, step 5m: answered by the engine, from a warm cache, and
// from a warm cache while new samples keep arriving (each iteration
// records a change near now, so the cache syncs, and evaluates the fresh
// tail).
func BenchmarkRange(b *testing.B) {
	now := time.Date(2024, 3, 4, 12, 0, 0, 0, time.UTC)
	ms := memstore.New()
	app := ms.Appender(context.Background())
	for ts := now.Add(-7 * 24 * time.Hour).UnixMilli(); ts <= now.UnixMilli(); ts += 60_000 {
		for i := range 50 {
			l := labels.FromStrings("__name__", "m", "i", fmt.Sprint(i), "g", fmt.Sprint(i%5))
			if _, err := app.Append(0, l, ts, float64(ts/60_000%1000+int64(i))); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := app.Commit(); err != nil {
		b.Fatal(err)
	}
	engine := promql.NewEngine(promql.EngineOpts{})
	feed := &fakeFeed{}
	c := New(Options{Engine: engine, Storage: ms, Feed: feed, Now: func() time.Time { return now },
		Config: Config{Enabled: true, MaxBytes: 256 << 20, Freshness: 10 * time.Minute}})
	const expr = `sum by (g) (avg_over_time(m[10m]))`
	start, step := now.Add(-7*24*time.Hour), 5*time.Minute
	run := func(b *testing.B, f func() (*promql.Result, error)) {
		b.ReportAllocs()
		for b.Loop() {
			res, err := f()
			if err != nil {
				b.Fatal(err)
			}
			res.Close()
		}
	}
	b.Run("engine", func(b *testing.B) {
		run(b, func() (*promql.Result, error) {
			return fresh(b, engine, ms, expr, start, now, step, promql.QueryOpts{})
		})
	})
	cached := func() (*promql.Result, error) {
		return c.Range(context.Background(), expr, start, now, step, promql.QueryOpts{})
	}
	if _, err := cached(); err != nil {
		b.Fatal(err)
	}
	b.Run("cached", func(b *testing.B) { run(b, cached) })
	b.Run("cached_settled", func(b *testing.B) {
		end := now.Add(-time.Hour)
		run(b, func() (*promql.Result, error) {
			return c.Range(context.Background(), expr, start, end, step, promql.QueryOpts{})
		})
	})
	b.Run("cached_while_appending", func(b *testing.B) {
		run(b, func() (*promql.Result, error) {
			feed.change(labels.EmptyLabels(), now.Add(-2*time.Minute).UnixMilli(), now.UnixMilli())
			return cached()
		})
	})
}
