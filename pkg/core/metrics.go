package core

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/graftlabs/graft/pkg/storage"
)

type coreMetrics struct {
	reloadOK   prometheus.Gauge
	reloadTime prometheus.Gauge
}

func newCoreMetrics(reg prometheus.Registerer) *coreMetrics {
	m := &coreMetrics{
		reloadOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "graft_config_last_reload_successful", Help: "Whether the last configuration reload succeeded.",
		}),
		reloadTime: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "graft_config_last_reload_success_timestamp_seconds", Help: "Time of the last successful configuration reload.",
		}),
	}
	reg.MustRegister(m.reloadOK, m.reloadTime)
	return m
}

func (m *coreMetrics) reloaded(err error) {
	if err != nil {
		m.reloadOK.Set(0)
		return
	}
	m.reloadOK.Set(1)
	m.reloadTime.Set(float64(time.Now().Unix()))
}

// storageCollector exports storage statistics at scrape time.
type storageCollector struct {
	store   storage.Storage
	series  *prometheus.Desc
	samples *prometheus.Desc
}

func newStorageCollector(s storage.Storage) prometheus.Collector {
	return &storageCollector{
		store:   s,
		series:  prometheus.NewDesc("graft_storage_series", "Series held in storage.", nil, nil),
		samples: prometheus.NewDesc("graft_storage_samples", "Samples held in storage.", nil, nil),
	}
}

func (c *storageCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.series
	ch <- c.samples
}

func (c *storageCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.store.Stats()
	ch <- prometheus.MustNewConstMetric(c.series, prometheus.GaugeValue, float64(st.NumSeries))
	ch <- prometheus.MustNewConstMetric(c.samples, prometheus.GaugeValue, float64(st.NumSamples))
}
