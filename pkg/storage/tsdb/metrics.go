package tsdb

import (
	"github.com/prometheus/client_golang/prometheus"
)

// dbMetrics are the TSDB's self-metrics, under the names the monitoring
// dashboards and alerts read (pkg/dashboards/monitoring).
type dbMetrics struct {
	walCorruptions     prometheus.Counter
	compactions        prometheus.Counter
	compactionsFailed  prometheus.Counter
	compactionDuration prometheus.Histogram
	headCompactions    prometheus.Counter
	blocksLoaded       prometheus.Gauge
	blocksCorrupt      prometheus.Counter
	retentionDeletions *prometheus.CounterVec

	reg        prometheus.Registerer
	collectors []prometheus.Collector
}

// unregister removes the metrics, so that the DB can be opened again with
// the same registry.
func (m *dbMetrics) unregister() {
	if m == nil || m.reg == nil {
		return
	}
	for _, c := range m.collectors {
		m.reg.Unregister(c)
	}
	m.reg = nil
}

func newDBMetrics(reg prometheus.Registerer, db *DB) *dbMetrics {
	m := &dbMetrics{
		walCorruptions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "graft_tsdb_wal_corruptions_total", Help: "WAL corruptions (torn or damaged tails) repaired on start.",
		}),
		compactions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "graft_tsdb_compactions_total", Help: "Compactions run: head to block, blocks to a larger block, downsampling.",
		}),
		compactionsFailed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "graft_tsdb_compactions_failed_total", Help: "Compactions that failed.",
		}),
		compactionDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "graft_tsdb_compaction_duration_seconds", Help: "Duration of compactions.",
			Buckets: prometheus.ExponentialBuckets(0.1, 2, 14),
		}),
		headCompactions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "graft_tsdb_head_compactions_total", Help: "Blocks cut from the head.",
		}),
		blocksLoaded: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "graft_tsdb_blocks_loaded", Help: "Blocks being served.",
		}),
		blocksCorrupt: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "graft_tsdb_blocks_corrupt_total", Help: "Blocks found damaged and set aside.",
		}),
		retentionDeletions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "graft_tsdb_retention_deleted_blocks_total", Help: "Blocks deleted by retention, by reason (time or size).",
		}, []string{"reason"}),
	}
	if reg == nil {
		return m
	}
	m.reg = reg
	m.collectors = append(m.collectors, m.walCorruptions, m.compactions, m.compactionsFailed, m.compactionDuration,
		m.headCompactions, m.blocksLoaded, m.blocksCorrupt, m.retentionDeletions,
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "graft_tsdb_out_of_order_samples_appended_total", Help: "Late samples accepted inside the out-of-order window.",
		}, func() float64 { return float64(db.head.oooAppended.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "graft_tsdb_wal_storage_size_bytes", Help: "Size of the WAL, checkpoint included.",
		}, func() float64 { return float64(db.walSize()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "graft_tsdb_head_series", Help: "Series in the head.",
		}, func() float64 { return float64(db.head.numSeries.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "graft_tsdb_head_samples", Help: "Samples in the head.",
		}, func() float64 { return float64(db.head.numSamples.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "graft_tsdb_storage_blocks_bytes", Help: "Size of the blocks on disk.",
		}, func() float64 { return float64(db.blocksSize()) }),
	)
	reg.MustRegister(m.collectors...)
	return m
}
