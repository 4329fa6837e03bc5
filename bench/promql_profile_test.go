package main

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"
)

// BenchmarkPromQLQuery runs one query of the promql suite's data on Graft
// (over memstore and over the TSDB) and on Prometheus, for profiling:
//
//	GRAFT_Q='rate(a_hundred[1m])' GRAFT_STEPS=1000 go test ./bench -run - -bench PromQLQuery -cpuprofile cpu.out
//
// It skips without GRAFT_Q.
func BenchmarkPromQLQuery(b *testing.B) {
	q := os.Getenv("GRAFT_Q")
	if q == "" {
		b.Skip("set GRAFT_Q to the query to run")
	}
	steps := 1000
	if v := os.Getenv("GRAFT_STEPS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("GRAFT_STEPS: want a positive number of steps, got %q", v)
		}
		steps = n
	}
	ctx := context.Background()
	sc := scaleFor(true)
	data, err := newBenchData(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer data.close()
	if err := loadRangeQueryData(ctx, data, sc.intervals); err != nil {
		b.Fatal(err)
	}
	if err := data.db.Compact(ctx); err != nil {
		b.Fatal(err)
	}
	eb := newEngineBench(data, sc, nil)
	end := time.UnixMilli(int64(sc.intervals) * 10_000)
	start := end.Add(-time.Duration(steps-1) * 10 * time.Second)
	for _, r := range []struct {
		name string
		run  runner
	}{
		{"graft", eb.graftRunner(ctx, data.store, q, start, end, 10*time.Second)},
		{"graft-tsdb", eb.graftRunner(ctx, eb.onTSDB, q, start, end, 10*time.Second)},
		{"prometheus", eb.promRunner(ctx, q, start, end, 10*time.Second)},
	} {
		b.Run(r.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := r.run(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
