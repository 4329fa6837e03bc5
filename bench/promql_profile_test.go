package main

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// BenchmarkPromQLQuery runs one query of the promql suite's data on Graft
// (over its TSDB and over Prometheus's) and on Prometheus, for profiling:
//
//	GRAFT_Q='rate(a_hundred[1m])' GRAFT_STEPS=1000 go test ./bench -run - -bench PromQLQuery -cpuprofile cpu.out
//
// GRAFT_COLD=1 runs two garbage collections (outside the timer) before each
// query, emptying both engines' pools, to measure what a query allocates
// from cold. GRAFT_DATA=native runs it over the native histograms of the suite (two
// hours at a 30s step; GRAFT_STEPS does not apply). GRAFT_FULL=1 loads the
// full suite's data instead of the quick one's. It skips without GRAFT_Q.
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
	sc := scaleFor(os.Getenv("GRAFT_FULL") == "")
	data, err := newBenchData(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer data.close()
	end := time.UnixMilli(int64(sc.intervals) * 10_000)
	start := end.Add(-time.Duration(steps-1) * 10 * time.Second)
	step := 10 * time.Second
	if os.Getenv("GRAFT_DATA") == "native" {
		err = loadNativeHistogramData(ctx, data, sc.nhSeries)
		start, end, step = time.Unix(0, 0), time.Unix(0, 0).Add(2*time.Hour), 30*time.Second
	} else {
		err = loadRangeQueryData(ctx, data, sc.intervals)
	}
	if err != nil {
		b.Fatal(err)
	}
	if err := data.compact(ctx); err != nil {
		b.Fatal(err)
	}
	eb := newEngineBench(data, sc, nil)
	for _, r := range []struct {
		name string
		run  runner
	}{
		{"graft", eb.graftRunner(ctx, data.graft, q, start, end, step)},
		{"graft-on-prometheus", eb.graftRunner(ctx, eb.onProm, q, start, end, step)},
		{"prometheus", eb.promRunner(ctx, q, start, end, step)},
	} {
		b.Run(r.name, func(b *testing.B) {
			b.ReportAllocs()
			cold := os.Getenv("GRAFT_COLD") != ""
			for b.Loop() {
				if cold {
					b.StopTimer()
					runtime.GC()
					runtime.GC()
					b.StartTimer()
				}
				if err := r.run(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
