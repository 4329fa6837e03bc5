package promql

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the engine's self-monitoring series (Prometheus's
// prometheus_engine_* with graft_ in place of prometheus_).
type metrics struct {
	duration *prometheus.HistogramVec // by query kind: instant or range
	// The two series of duration, looked up once rather than per query.
	durationInstant, durationRange prometheus.Observer
	failures                       *prometheus.CounterVec // by error type
	samples                        prometheus.Counter
	running                        prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer, maxConcurrent int, pool *slabPool) *metrics {
	m := &metrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "graft_engine_query_duration_seconds",
			Help:    "Time from a query's execution request to its result: waiting for a slot and evaluating.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120},
		}, []string{"kind"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "graft_engine_query_failures_total", Help: "Queries that failed, by error type.",
		}, []string{"type"}),
		samples: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "graft_engine_query_samples_total", Help: "Samples read from storage by queries.",
		}),
		running: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "graft_engine_queries", Help: "Queries being evaluated or waiting for a slot.",
		}),
	}
	m.durationInstant = m.duration.WithLabelValues("instant")
	m.durationRange = m.duration.WithLabelValues("range")
	for _, typ := range []ErrorType{ErrBadData, ErrExecution, ErrTimeout, ErrCanceled} {
		m.failures.WithLabelValues(string(typ))
	}
	if reg != nil {
		maxGauge := prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "graft_engine_queries_concurrent_max", Help: "The most queries evaluated at once.",
		})
		maxGauge.Set(float64(maxConcurrent))
		reg.MustRegister(m.duration, m.failures, m.samples, m.running, maxGauge)
		if pool != nil {
			reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "graft_engine_point_pool_bytes", Help: "Memory kept between queries for the points of later ones.",
			}, func() float64 { return float64(pool.heldBytes()) }))
		}
	}
	return m
}

// observe records one executed query.
func (m *metrics) observe(instant bool, took time.Duration, res *Result, err error) {
	obs := m.durationRange
	if instant {
		obs = m.durationInstant
	}
	obs.Observe(took.Seconds())
	if err != nil {
		typ := ErrExecution
		if e := (*Error)(nil); errors.As(err, &e) {
			typ = e.Type
		}
		m.failures.WithLabelValues(string(typ)).Inc()
		return
	}
	m.samples.Add(float64(res.Stats.TotalSamples))
}
