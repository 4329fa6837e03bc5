package chunkenc

import (
	"testing"

	promchunkenc "github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/graftlabs/graft/pkg/storage"
)

// BenchmarkDecodeShapes decodes 240-sample chunks of each shape, beside
// Prometheus's XOR chunks of the same samples, through the iterator
// interfaces the engines use (Next, then At).
func BenchmarkDecodeShapes(b *testing.B) {
	shapes := map[string]func(i int) float64{
		"bench_float":  func(i int) float64 { return float64(i) + 37.0/1443 }, // promql suite's a_X
		"int_counter":  func(i int) float64 { return float64(i * 1234) },
		"random_float": nil,
	}
	for name, f := range shapes {
		var samples []pair
		if f == nil {
			samples = genSamples(3, name, 240)
		} else {
			for i := range 240 {
				samples = append(samples, pair{int64(i) * 10_000, f(i)})
			}
		}
		c := NewFloatChunk()
		pc := promchunkenc.NewXORChunk()
		app, _ := pc.Appender()
		for _, p := range samples {
			c.Append(p.t, p.v)
			app.Append(0, p.t, p.v)
		}
		b.Run(name+"/graft", func(b *testing.B) {
			var it storage.Iterator
			var sum float64
			for b.Loop() {
				it = c.Iterator(it)
				for it.Next() != storage.ValNone {
					_, v := it.At()
					sum += v
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*240), "ns/sample")
		})
		b.Run(name+"/prometheus", func(b *testing.B) {
			var it promchunkenc.Iterator
			var sum float64
			for b.Loop() {
				it = pc.Iterator(it)
				for it.Next() != promchunkenc.ValNone {
					_, v := it.At()
					sum += v
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*240), "ns/sample")
		})
	}
}
