package main

import (
	"context"
	"os"
	"testing"
	"time"
)

// BenchmarkDashboard runs one dashboard query (GRAFT_Q) on each engine, for
// profiling.
func BenchmarkDashboard(b *testing.B) {
	ctx := context.Background()
	data, err := newBenchData(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer data.close()
	end := int64(24 * 3600 * 1000)
	if err := loadDashboardData(ctx, data, end, 1); err != nil {
		b.Fatal(err)
	}
	if err := data.db.Compact(ctx); err != nil {
		b.Fatal(err)
	}
	eb := newEngineBench(data, scaleFor(true), nil)
	q := os.Getenv("GRAFT_Q")
	e := time.UnixMilli(end)
	s := e.Add(-24 * time.Hour)
	for name, r := range map[string]runner{
		"graft":      eb.graftRunner(ctx, data.store, q, s, e, time.Minute),
		"graft-tsdb": eb.graftRunner(ctx, eb.onTSDB, q, s, e, time.Minute),
		"prom":       eb.promRunner(ctx, q, s, e, time.Minute),
	} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := r(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
