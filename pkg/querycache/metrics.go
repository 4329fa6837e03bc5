package querycache

import "github.com/prometheus/client_golang/prometheus"

// metrics are the cache's self-metrics; the self-monitoring dashboard's
// hit ratio is hits over requests.
type metrics struct {
	requests      prometheus.Counter
	hits          prometheus.Counter
	misses        prometheus.Counter
	bypasses      *prometheus.CounterVec
	evictions     prometheus.Counter
	invalidations *prometheus.CounterVec
	bytes         prometheus.Gauge
	extents       prometheus.Gauge
}

// Reasons for a bypass and for an invalidation.
const (
	bypassExpression  = "expression"  // reads the query's start or end
	bypassFresh       = "fresh"       // all of it within the freshness window
	bypassAnnotations = "annotations" // carries warnings or infos

	invalidChanged  = "changed"      // a change met what the extent read
	invalidLost     = "history_lost" // the change feed lost history
	invalidDisabled = "disabled"     // the cache was turned off
)

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "graft_querycache_requests_total",
			Help: "Day-sized pieces of range queries looked up in the query results cache.",
		}),
		hits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "graft_querycache_hits_total",
			Help: "Pieces answered entirely from the query results cache.",
		}),
		misses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "graft_querycache_misses_total",
			Help: "Pieces that needed evaluating, in whole or in part.",
		}),
		bypasses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "graft_querycache_bypasses_total",
			Help: "Range queries evaluated without the cache, by reason.",
		}, []string{"reason"}),
		evictions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "graft_querycache_evictions_total",
			Help: "Cached extents evicted to stay within the cache's size.",
		}),
		invalidations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "graft_querycache_invalidations_total",
			Help: "Cached extents dropped because the data they were computed from changed, by reason.",
		}, []string{"reason"}),
		bytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "graft_querycache_bytes", Help: "Approximate bytes held by the query results cache.",
		}),
		extents: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "graft_querycache_extents", Help: "Extents held by the query results cache.",
		}),
	}
	for _, r := range []string{bypassExpression, bypassFresh, bypassAnnotations} {
		m.bypasses.WithLabelValues(r)
	}
	for _, r := range []string{invalidChanged, invalidLost, invalidDisabled} {
		m.invalidations.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.hits, m.misses, m.bypasses, m.evictions, m.invalidations, m.bytes, m.extents)
	}
	return m
}

// stored updates the gauges from the store.
func (m *metrics) stored(s *store) {
	m.bytes.Set(float64(s.bytes))
	m.extents.Set(float64(s.extents))
}
