package main

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/graftlabs/graft/pkg/promql"
)

func BenchmarkTiny(b *testing.B) {
	ctx := context.Background()
	data, err := newBenchData(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer data.close()
	if err := loadRangeQueryData(ctx, data, 200); err != nil {
		b.Fatal(err)
	}
	end := time.UnixMilli(200 * 10_000)
	eng := promql.NewEngine(promql.EngineOpts{})
	q := os.Getenv("GRAFT_Q")
	b.ReportAllocs()
	for b.Loop() {
		qry, err := eng.NewRangeQuery(data.store, q, end, end, 10*time.Second, promql.QueryOpts{})
		if err != nil {
			b.Fatal(err)
		}
		r, err := qry.Exec(ctx)
		if err != nil {
			b.Fatal(err)
		}
		r.Close()
	}
}
