package remote

import (
	"fmt"
	"testing"

	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/remote/queue"
)

// BenchmarkForward measures what remote write adds to a commit: encoding a
// scrape-sized batch (500 series of 7 labels) for one endpoint and
// appending it to the endpoint's queue, for each fsync policy. The
// endpoint does not answer, so that sending (which runs beside commits,
// not in them) stays out of the measurement.
func BenchmarkForward(b *testing.B) {
	batch := &Batch{}
	for i := range 500 {
		batch.Samples = append(batch.Samples, Sample{
			Labels: labels.FromStrings("__name__", fmt.Sprintf("http_requests_total_%d", i%50), "job", "api",
				"instance", "10.0.0.1:9100", "method", "GET", "code", "200", "handler", fmt.Sprintf("/h/%d", i)),
			T: 1_700_000_000_000, V: float64(i),
		})
	}
	for _, sync := range []queue.SyncPolicy{queue.SyncSegment, queue.SyncAppend} {
		b.Run(fmt.Sprint("sync=", sync), func(b *testing.B) {
			w := NewWriter(Options{Dir: b.TempDir()})
			defer w.Close()
			ep := endpointConfig(&testing.T{}, "http://127.0.0.1:1/api/v1/write", func(c *promconfig.RemoteWriteConfig) {
				c.QueueConfig.MinBackoff, c.QueueConfig.MaxBackoff = 1e9, 1e9
			})
			if err := w.ApplyConfig(Config{Endpoints: []*promconfig.RemoteWriteConfig{ep}, Sync: sync, MaxQueueBytes: 1 << 30}); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				w.Forward(batch)
			}
			b.ReportMetric(float64(b.N*len(batch.Samples))/b.Elapsed().Seconds(), "samples/s")
			rec, err := w.eps[0].enc.encode(batch)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(len(rec.payload))/float64(len(batch.Samples)), "queued-bytes/sample")
		})
	}
}
