package monitoring

// Graft's self-monitoring series, as the self-monitoring dashboard and the
// Graft health alerts read them: Prometheus's own names with graft_ in place
// of prometheus_. test/e2e's TestGeneratedDashboardsQueryRealSeries checks
// that a running server exposes every one the dashboards read.
const (
	// pkg/scrape, labelled by scrape_job, the job scraped
	MetricScrapes         = "graft_scrapes_total"
	MetricScrapeFailures  = "graft_scrape_failures_total"
	MetricSamplesAppended = "graft_scrape_samples_appended_total"
	MetricScrapeDuration  = "graft_scrape_duration_seconds"
	// pkg/core
	MetricStorageSeries       = "graft_storage_series"
	MetricConfigReloadSuccess = "graft_config_last_reload_successful"

	// pkg/storage/tsdb, pkg/promql, pkg/querycache, pkg/rules, pkg/remote
	MetricWALCorruptions      = "graft_tsdb_wal_corruptions_total"
	MetricWALSize             = "graft_tsdb_wal_storage_size_bytes"
	MetricCompactions         = "graft_tsdb_compactions_total"
	MetricCompactionsFailed   = "graft_tsdb_compactions_failed_total"
	MetricCompactionDuration  = "graft_tsdb_compaction_duration_seconds"
	MetricQueryDuration       = "graft_engine_query_duration_seconds"
	MetricQueryCacheRequests  = "graft_querycache_requests_total"
	MetricQueryCacheHits      = "graft_querycache_hits_total"
	MetricRuleEvaluations     = "graft_rule_evaluations_total"
	MetricRuleEvalFailures    = "graft_rule_evaluation_failures_total"
	MetricRemoteHighestTS     = "graft_remote_storage_highest_timestamp_in_seconds"
	MetricRemoteHighestSentTS = "graft_remote_storage_queue_highest_sent_timestamp_seconds"
)

// GraftJob is the scrape job of Graft's own /metrics in provisioning/graft.yml.
const GraftJob = "graft"

// DemoService is the built-in demo target (pkg/demo): three web services
// told apart by the service label.
func DemoService() Service {
	return Service{
		Name:     "demo",
		Title:    "Demo services",
		Job:      "demo",
		Requests: "demo_http_requests_total",
		Duration: "demo_http_request_duration_seconds",
		CPU:      "demo_process_cpu_seconds_total",
		Memory:   "demo_process_resident_memory_bytes",
	}
}
