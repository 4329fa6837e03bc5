package monitoring

import "fmt"

// SelfDashboard is Graft's self-monitoring: scrape health per job, samples
// per second, head series, WAL, compactions, query latency, cache hit
// ratio, rule evaluations and remote-write lag. Its job and instance
// variables pick Graft processes (the job scraping Graft's own /metrics).
func SelfDashboard() (Dashboard, error) {
	rate := func(metric string, extra ...string) string {
		return fmt.Sprintf("rate(%s[%s])", Sel(metric, extra...), RateInterval)
	}
	quantile := func(q, metric, by string) Query {
		return Query{Expr: fmt.Sprintf("histogram_quantile(%s, sum by (%s, le) (%s))", q, by, rate(metric+"_bucket")),
			Legend: fmt.Sprintf("{{%s}} p%s", by, trimZeroDot(q))}
	}
	scraping := Row{Title: "Scraping", Panels: []Panel{
		{Title: "Scrape failure ratio by job", Unit: "percentunit", Min: Ptr(0.0),
			Description: "Share of scrapes failing, per scraped job (scrape_job); the GraftScrapeFailures alert warns above 10%.",
			Thresholds:  []Threshold{{0.1, "orange"}, {0.5, "red"}},
			Queries: []Query{{Expr: fmt.Sprintf("sum by (scrape_job) (%s)\n/\nsum by (scrape_job) (%s)",
				rate(MetricScrapeFailures), rate(MetricScrapes)), Legend: "{{scrape_job}}"}}},
		{Title: "Scrape duration by job", Unit: "s", Min: Ptr(0.0),
			Description: "99th percentile scrape duration, per scraped job.",
			Queries:     []Query{quantile("0.99", MetricScrapeDuration, "scrape_job")}},
		{Title: "Samples appended", Unit: "cps", Min: Ptr(0.0),
			Description: "Samples per second that scrapes append to storage, per scraped job.",
			Queries: []Query{{Expr: fmt.Sprintf("sum by (scrape_job) (%s)", rate(MetricSamplesAppended)),
				Legend: "{{scrape_job}}"}}},
	}}
	storage := Row{Title: "Storage", Panels: []Panel{
		{Title: "Head series", Unit: "short", Min: Ptr(0.0),
			Description: "Series held in the in-memory head, per Graft instance.",
			Queries:     []Query{{Expr: fmt.Sprintf("sum by (instance) (%s)", Sel(MetricStorageSeries)), Legend: "{{instance}}"}}},
		{Title: "WAL size and corruptions", Unit: "bytes", Min: Ptr(0.0),
			Description: "Size of the write-ahead log on disk; corruptions found in the window are drawn on the right axis.",
			Queries: []Query{
				{Expr: fmt.Sprintf("sum by (instance) (%s)", Sel(MetricWALSize)), Legend: "{{instance}} size"},
				{Expr: fmt.Sprintf("sum by (instance) (increase(%s[%s]))", Sel(MetricWALCorruptions), RateInterval), Legend: "{{instance}} corruptions"},
			}},
		{Title: "Compactions", Unit: "ops", Min: Ptr(0.0),
			Description: "Compactions per second, and failed ones.",
			Queries: []Query{
				{Expr: fmt.Sprintf("sum by (instance) (%s)", rate(MetricCompactions)), Legend: "{{instance}} compactions"},
				{Expr: fmt.Sprintf("sum by (instance) (%s)", rate(MetricCompactionsFailed)), Legend: "{{instance}} failed"},
			}},
	}}
	queries := Row{Title: "Queries", Panels: []Panel{
		{Title: "Query latency", Unit: "s", Width: 12, Min: Ptr(0.0),
			Description: "PromQL evaluation latency: median and 99th percentile, per Graft instance.",
			Queries:     []Query{quantile("0.5", MetricQueryDuration, "instance"), quantile("0.99", MetricQueryDuration, "instance")}},
		{Title: "Query cache hit ratio", Unit: "percentunit", Width: 12, Min: Ptr(0.0), Max: Ptr(1.0),
			Description: "Share of query-cache lookups answered from the cache.",
			Queries: []Query{{Expr: fmt.Sprintf("sum by (instance) (%s)\n/\nsum by (instance) (%s)",
				rate(MetricQueryCacheHits), rate(MetricQueryCacheRequests)), Legend: "{{instance}}"}}},
	}}
	rules := Row{Title: "Rules, remote write and configuration", Panels: []Panel{
		{Title: "Rule evaluations", Unit: "ops", Min: Ptr(0.0),
			Description: "Rule evaluations per second, and failed ones, per rule group.",
			Queries: []Query{
				{Expr: fmt.Sprintf("sum by (rule_group) (%s)", rate(MetricRuleEvaluations)), Legend: "{{rule_group}}"},
				{Expr: fmt.Sprintf("sum by (rule_group) (%s)", rate(MetricRuleEvalFailures)), Legend: "{{rule_group}} failed"},
			}},
		{Title: "Remote write lag", Unit: "s", Min: Ptr(0.0),
			Description: "How far remote write is behind the newest sample, per queue; the GraftRemoteWriteBehind alert warns above 2 minutes.",
			Thresholds:  []Threshold{{120, "orange"}, {600, "red"}},
			Queries: []Query{{Expr: fmt.Sprintf("%s\n- ignoring (remote_name, url) group_right\n%s",
				Sel(MetricRemoteHighestTS), Sel(MetricRemoteHighestSentTS)), Legend: "{{instance}} {{remote_name}}"}}},
		{Kind: Stat, Title: "Configuration reload", Unit: "bool_yes_no",
			Description: "Whether the last configuration reload of each Graft instance succeeded.",
			BaseColor:   "red", Thresholds: []Threshold{{1, "green"}},
			Queries: []Query{{Expr: Sel(MetricConfigReloadSuccess), Legend: "{{instance}}", Instant: true}}},
	}}
	return DashboardSpec{
		UID: "graft-self", Title: "Graft / Self-monitoring",
		Description: "Graft's own health: scraping, storage, queries, rules and remote write.",
		Tags:        []string{"graft", "self-monitoring"}, LinkTags: []string{"graft"},
		JobQuery:      fmt.Sprintf("label_values(%s, job)", MetricScrapes),
		InstanceQuery: fmt.Sprintf(`label_values(%s{job=~"$job"}, instance)`, MetricScrapes),
		Rows:          []Row{scraping, storage, queries, rules},
	}.Build()
}
