package main

import (
	"context"
	"os"
	"testing"
	"time"
)

// BenchmarkProfile runs one query (GRAFT_Q) for profiling.
func BenchmarkProfile(b *testing.B) {
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
	q := os.Getenv("GRAFT_Q")
	end := time.UnixMilli(int64(sc.intervals) * 10_000)
	start := end.Add(-999 * 10 * time.Second)
	if os.Getenv("GRAFT_STEPS") == "1" {
		start = end
	}
	for name, r := range map[string]runner{
		"graft": eb.graftRunner(ctx, data.store, q, start, end, 10*time.Second),
		"prom":  eb.promRunner(ctx, q, start, end, 10*time.Second),
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
