package remote

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the remote-write side's self-metrics, under Prometheus's
// names with graft_ in place of prometheus_, as the self-monitoring
// dashboard and alerts read them (pkg/dashboards/monitoring).
type metrics struct {
	// highestTS is the newest timestamp handed to remote write, before any
	// endpoint's relabeling: one series per instance, as Prometheus has.
	highestTS prometheus.Gauge
	// The rest are per endpoint (remote_name, url).
	queueHighestTS *prometheus.GaugeVec
	highestSentTS  *prometheus.GaugeVec
	sent           *prometheus.CounterVec
	failed         *prometheus.CounterVec
	retried        *prometheus.CounterVec
	dropped        *prometheus.CounterVec // also by reason
	sentBytes      *prometheus.CounterVec
	sentBatches    *prometheus.HistogramVec
	shards         *prometheus.GaugeVec
}

var endpointLabels = []string{"remote_name", "url"}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		highestTS: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "graft_remote_storage_highest_timestamp_in_seconds",
			Help: "Newest timestamp committed to storage and handed to remote write, in seconds since the epoch.",
		}),
		queueHighestTS: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "graft_remote_storage_queue_highest_timestamp_seconds",
			Help: "Newest timestamp written to the endpoint's queue (after relabeling), in seconds since the epoch.",
		}, endpointLabels),
		highestSentTS: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "graft_remote_storage_queue_highest_sent_timestamp_seconds",
			Help: "Newest timestamp the endpoint acknowledged, in seconds since the epoch.",
		}, endpointLabels),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "graft_remote_storage_samples_total",
			Help: "Samples and histograms the endpoint acknowledged.",
		}, endpointLabels),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "graft_remote_storage_samples_failed_total",
			Help: "Samples and histograms the endpoint refused for good (an HTTP 4xx other than a retried 429); they are not sent again.",
		}, endpointLabels),
		retried: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "graft_remote_storage_samples_retried_total",
			Help: "Samples and histograms sent again after a recoverable error (5xx, 429, network).",
		}, endpointLabels),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "graft_remote_storage_samples_dropped_total",
			Help: "Samples and histograms never sent: queue_full and too_old (the queue's bounds), sample_age_limit, corrupt (a damaged queue), queue_error (the queue could not be written).",
		}, append(endpointLabels, "reason")),
		sentBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "graft_remote_storage_sent_bytes_total",
			Help: "Compressed bytes of the requests sent to the endpoint, retries included.",
		}, endpointLabels),
		sentBatches: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "graft_remote_storage_sent_batch_duration_seconds",
			Help:    "Duration of send attempts to the endpoint.",
			Buckets: prometheus.DefBuckets,
		}, endpointLabels),
		shards: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "graft_remote_storage_shards",
			Help: "Shards (concurrent senders) of the endpoint.",
		}, endpointLabels),
	}
	if reg != nil {
		reg.MustRegister(m.highestTS, m.queueHighestTS, m.highestSentTS, m.sent, m.failed, m.retried,
			m.dropped, m.sentBytes, m.sentBatches, m.shards)
	}
	return m
}

// forget removes an endpoint's series once it is gone from the configuration.
func (m *metrics) forget(name, url string) {
	l := prometheus.Labels{"remote_name": name, "url": url}
	for _, v := range []interface{ DeletePartialMatch(prometheus.Labels) int }{
		m.queueHighestTS, m.highestSentTS, m.sent, m.failed, m.retried, m.dropped, m.sentBytes, m.sentBatches, m.shards,
	} {
		v.DeletePartialMatch(l)
	}
}

// endpointMetrics are one endpoint's children of the vectors.
type endpointMetrics struct {
	queueHighestTS, highestSentTS, shards prometheus.Gauge
	sent, failed, retried, sentBytes      prometheus.Counter
	sentBatches                           prometheus.Observer
	dropped                               *prometheus.CounterVec
}

func (m *metrics) endpoint(name, url string) *endpointMetrics {
	return &endpointMetrics{
		queueHighestTS: m.queueHighestTS.WithLabelValues(name, url),
		highestSentTS:  m.highestSentTS.WithLabelValues(name, url),
		shards:         m.shards.WithLabelValues(name, url),
		sent:           m.sent.WithLabelValues(name, url),
		failed:         m.failed.WithLabelValues(name, url),
		retried:        m.retried.WithLabelValues(name, url),
		sentBytes:      m.sentBytes.WithLabelValues(name, url),
		sentBatches:    m.sentBatches.WithLabelValues(name, url),
		dropped:        m.dropped.MustCurryWith(prometheus.Labels{"remote_name": name, "url": url}),
	}
}

// queueCollector exports each endpoint's queue at scrape time: samples
// waiting (on disk and in the shards) and bytes on disk.
type queueCollector struct {
	w       *Writer
	pending *prometheus.Desc
	bytes   *prometheus.Desc
}

func newQueueCollector(w *Writer) *queueCollector {
	return &queueCollector{
		w: w,
		pending: prometheus.NewDesc("graft_remote_storage_samples_pending",
			"Samples and histograms queued for the endpoint and not acknowledged yet.", endpointLabels, nil),
		bytes: prometheus.NewDesc("graft_remote_storage_queue_bytes",
			"Size of the endpoint's durable queue on disk.", endpointLabels, nil),
	}
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.pending
	ch <- c.bytes
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	for _, st := range c.w.Status() {
		ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(st.PendingSamples), st.Name, st.URL)
		ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.GaugeValue, float64(st.QueueBytes), st.Name, st.URL)
	}
}
