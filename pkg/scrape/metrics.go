package scrape

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the scrape manager's self-monitoring series, labelled by the
// scrape job only, so their cardinality stays bounded by the configuration.
// The label is scrape_job, as in Prometheus: when Graft scrapes its own
// /metrics, a label named job would clash with the target's job label.
type metrics struct {
	scrapes  *prometheus.CounterVec
	failures *prometheus.CounterVec
	samples  *prometheus.CounterVec
	rejected *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// clusterTargets counts targets by ownership when scraping is sharded.
	clusterTargets *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		scrapes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "graft_scrapes_total", Help: "Scrapes performed.",
		}, []string{"scrape_job"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "graft_scrape_failures_total", Help: "Scrapes that failed (target down, parse error, limit).",
		}, []string{"scrape_job"}),
		samples: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "graft_scrape_samples_appended_total", Help: "Samples appended by scrapes after metric relabeling.",
		}, []string{"scrape_job"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "graft_scrape_samples_rejected_total", Help: "Scraped samples the storage refused, by reason.",
		}, []string{"scrape_job", "reason"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "graft_scrape_duration_seconds", Help: "Duration of scrapes.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 8),
		}, []string{"scrape_job"}),
		clusterTargets: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "graft_cluster_targets",
			Help: "Targets by cluster ownership: owned (scraped here), elsewhere (owned by another member), unknown (the ring could not answer: scraped here).",
		}, []string{"scrape_job", "ownership"}),
	}
	if reg != nil {
		reg.MustRegister(m.scrapes, m.failures, m.samples, m.rejected, m.duration, m.clusterTargets)
	}
	return m
}

func (m *metrics) observe(job string, st appendStats, dur time.Duration, err error) {
	m.scrapes.WithLabelValues(job).Inc()
	// The failure counter exists from the first scrape on, at 0 while
	// every scrape succeeds, so that ratios and increase() see it.
	failures := m.failures.WithLabelValues(job)
	if err != nil {
		failures.Inc()
	}
	m.samples.WithLabelValues(job).Add(float64(st.postRelabel - st.outOfOrder - st.duplicate - st.outOfBounds))
	m.duration.WithLabelValues(job).Observe(dur.Seconds())
	for reason, n := range map[string]int{
		"out_of_order": st.outOfOrder, "duplicate": st.duplicate,
		"out_of_bounds": st.outOfBounds, "exemplar": st.exemplarsRejected,
	} {
		if n > 0 {
			m.rejected.WithLabelValues(job, reason).Add(float64(n))
		}
	}
}
