package tsdb

import (
	"context"
	"fmt"
	"math"
	"sync"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/storage"
)

// benchSeries are label sets shaped like node-exporter's: a dozen labels.
func benchSeries(n int) []labels.Labels {
	out := make([]labels.Labels, n)
	for i := range out {
		out[i] = labels.FromStrings("__name__", fmt.Sprintf("node_metric_%d", i%50), "instance", fmt.Sprintf("10.0.%d.%d:9100", i/250, i%250),
			"job", "node", "cpu", fmt.Sprint(i%8), "mode", []string{"idle", "user", "system"}[i%3], "datacenter", "eu-west-1",
			"env", "production", "team", "infra", "shard", fmt.Sprint(i%10))
	}
	return out
}

const benchRounds = 40

// BenchmarkSelectHead selects a tenth of 20,000 series with 120 samples
// each from the head and decodes every sample, as the storage suite does.
func BenchmarkSelectHead(b *testing.B) {
	db := openBlocksTest(b, b.TempDir(), func(o *Options) { o.BlockRange = 24 * 3600_000 * 1e6 })
	defer db.Close()
	lsets := benchSeries(20_000)
	refs := make([]storage.SeriesRef, len(lsets))
	for r := range benchRounds {
		app := db.Appender(context.Background())
		for i, l := range lsets {
			refs[i], _ = app.Append(refs[i], l, int64(r)*15000, float64(r*(i%97+1)))
		}
		if err := app.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	m := labels.MustNewMatcher(labels.MatchEqual, "shard", "3")
	b.ResetTimer()
	n := 0
	for range b.N {
		q, _ := db.Querier(math.MinInt64, math.MaxInt64)
		ss := q.Select(context.Background(), nil, m)
		var it storage.Iterator
		for ss.Next() {
			it = ss.At().Iterator(it)
			for it.Next() != storage.ValNone {
				n++
			}
		}
		q.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/sample")
}

// BenchmarkIngest appends rounds of samples to 20,000 series, one commit
// per 1,000 series, from two goroutines, as the storage suite does.
func BenchmarkIngest(b *testing.B) {
	lsets := benchSeries(20_000)
	n := 0
	for range b.N {
		db := openBlocksTest(b, b.TempDir(), func(o *Options) { o.BlockRange = 24 * 3600_000 * 1e6 })
		refs := make([]storage.SeriesRef, len(lsets))
		for r := range 120 {
			var wg sync.WaitGroup
			for g := range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for lo := g * 1000; lo < len(lsets); lo += 2000 {
						app := db.Appender(context.Background())
						for i := lo; i < lo+1000; i++ {
							refs[i], _ = app.Append(refs[i], lsets[i], int64(r)*15000, float64(r*(i%97+1)))
						}
						app.Commit()
					}
				}()
			}
			wg.Wait()
			n += len(lsets)
		}
		db.Close()
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "samples/s")
}
