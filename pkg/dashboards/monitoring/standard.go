package monitoring

import (
	"fmt"
	"time"
)

// Standard is Graft's standard monitoring content: the system overview,
// alerts overview and self-monitoring dashboards, a RED dashboard with
// recording rules and alerts per service set, the target and Graft health
// alerts, and the default notification routing.
func Standard(o Options, services []Service, env NotificationEnv) *Bundle {
	b := NewBundle(o)
	o = b.Options()
	for _, s := range services {
		b.AddService(s)
	}
	b.AddDashboard(OverviewDashboard(services, o))
	b.AddDashboard(AlertsDashboard())
	b.AddDashboard(SelfDashboard())
	b.AddRuleGroup("targets", RuleGroup{Name: "graft-targets", Alerts: TargetAlerts()})
	b.AddRuleGroup("graft", RuleGroup{Name: "graft-health", Alerts: GraftAlerts(o)})
	n, err := DefaultNotifications(env)
	b.fail(err)
	b.SetNotifications(n)
	return b
}

// TargetAlerts fire when a target stops answering, and when every target
// of a job is down.
func TargetAlerts() []Alert {
	return []Alert{
		{Name: "TargetDown", Severity: Warning, Query: "up", Op: Below, Threshold: 1, For: 5 * time.Minute,
			Summary:     "Target {{ $labels.instance }} of job {{ $labels.job }} is down",
			Description: "Graft has failed to scrape {{ $labels.instance }} (job {{ $labels.job }}) for 5 minutes; the target's health in /api/v1/targets says why."},
		{Name: "AllTargetsDown", Severity: Critical, Query: "sum by (job) (up)", Op: Below, Threshold: 1, For: 5 * time.Minute,
			Summary:     "Every target of job {{ $labels.job }} is down",
			Description: "No target of job {{ $labels.job }} has answered a scrape for 5 minutes: the service is unreachable or gone."},
	}
}

// GraftAlerts watch Graft itself: scraping, the WAL, compactions, rules,
// remote write and configuration reloads.
func GraftAlerts(o Options) []Alert {
	w := promDuration(o.RuleWindow)
	failureRatio := fmt.Sprintf("sum by (job, instance) (rate(%s[%s]))\n/\nsum by (job, instance) (rate(%s[%s]))",
		MetricScrapeFailures, w, MetricScrapes, w)
	lag := fmt.Sprintf("max by (job, instance) (\n  max_over_time(%s[%s])\n  - ignoring (remote_name, url) group_right\n  max_over_time(%s[%s])\n)",
		MetricRemoteHighestTS, w, MetricRemoteHighestSentTS, w)
	return []Alert{
		{Name: "GraftScrapeFailures", Severity: Warning, Query: failureRatio, Op: Above, Threshold: 0.1, For: 15 * time.Minute,
			Summary:     "Graft {{ $labels.instance }} fails {{ $value | humanizePercentage }} of its scrapes",
			Description: "More than 10% of the scrapes of Graft {{ $labels.instance }} have failed for 15 minutes; the Targets API and the self-monitoring dashboard show which jobs."},
		{Name: "GraftScrapeFailures", Severity: Critical, Query: failureRatio, Op: Above, Threshold: 0.5, For: 10 * time.Minute,
			Summary:     "Graft {{ $labels.instance }} fails most of its scrapes",
			Description: "More than half of the scrapes of Graft {{ $labels.instance }} ({{ $value | humanizePercentage }}) have failed for 10 minutes: dashboards and alerts are blind."},
		{Name: "GraftWALCorruption", Severity: Critical, Query: fmt.Sprintf("increase(%s[15m])", MetricWALCorruptions), Op: Above, Threshold: 0,
			Summary:     "Graft {{ $labels.instance }} found a corrupted WAL",
			Description: "Graft {{ $labels.instance }} found {{ $value }} WAL corruptions in the last 15 minutes: recent samples may be lost; check the disk."},
		{Name: "GraftCompactionsFailing", Severity: Warning, Query: fmt.Sprintf("increase(%s[3h])", MetricCompactionsFailed), Op: Above, Threshold: 0,
			Summary:     "Graft {{ $labels.instance }} fails to compact its storage",
			Description: "Graft {{ $labels.instance }} had {{ $value }} failed compactions in the last 3 hours; the head and disk usage will grow."},
		{Name: "GraftRuleEvaluationFailures", Severity: Warning,
			Query: fmt.Sprintf("sum by (job, instance, rule_group) (rate(%s[%s]))", MetricRuleEvalFailures, w), Op: Above, Threshold: 0, For: 15 * time.Minute,
			Summary:     "Graft {{ $labels.instance }} fails to evaluate rules of {{ $labels.rule_group }}",
			Description: "Rules of group {{ $labels.rule_group }} have failed to evaluate for 15 minutes on Graft {{ $labels.instance }}: their recorded series and alerts are missing."},
		{Name: "GraftRemoteWriteBehind", Severity: Warning, Query: lag, Op: Above, Threshold: 120, For: 15 * time.Minute,
			Summary:     "Graft {{ $labels.instance }} remote write is behind",
			Description: "Remote write of Graft {{ $labels.instance }} is {{ $value | humanizeDuration }} behind the newest sample for 15 minutes."},
		{Name: "GraftRemoteWriteBehind", Severity: Critical, Query: lag, Op: Above, Threshold: 600, For: 15 * time.Minute,
			Summary:     "Graft {{ $labels.instance }} remote write is far behind",
			Description: "Remote write of Graft {{ $labels.instance }} is {{ $value | humanizeDuration }} behind for 15 minutes: the long-term store is missing data and the queue may drop it."},
		{Name: "GraftConfigReloadFailed", Severity: Warning, Query: fmt.Sprintf("max by (job, instance) (%s)", MetricConfigReloadSuccess), Op: Below, Threshold: 1, For: 10 * time.Minute,
			Summary:     "Graft {{ $labels.instance }} could not reload its configuration",
			Description: "The last configuration reload of Graft {{ $labels.instance }} failed; it keeps running the previous configuration. The health check and the log say why."},
	}
}

// OverviewDashboard is the system overview: requests/s, error ratio and
// latency of every service set (from their recording rules), targets up
// and down, and firing alerts.
func OverviewDashboard(services []Service, o Options) (Dashboard, error) {
	o = o.withDefaults()
	var reqs, errRatio, p95, reqTotal, errTotal []Query
	for _, s := range services {
		s = s.withDefaults()
		r := s.recorded(o)
		sl := s.ServiceLabel
		req, errs, buckets := Sel(r.requests), Sel(r.errors), Sel(r.buckets)
		reqTotal = append(reqTotal, Query{Expr: fmt.Sprintf("sum(%s)", req), Legend: s.Title})
		errTotal = append(errTotal, Query{Expr: fmt.Sprintf("sum(%s)\n/\nsum(%s)", errs, req), Legend: s.Title})
		reqs = append(reqs, Query{Expr: fmt.Sprintf("sum by (job, %s) (%s)", sl, req), Legend: "{{job}} {{" + sl + "}}"})
		errRatio = append(errRatio, Query{Expr: fmt.Sprintf("sum by (job, %s) (%s)\n/\nsum by (job, %s) (%s)", sl, errs, sl, req),
			Legend: "{{job}} {{" + sl + "}}"})
		p95 = append(p95, Query{Expr: fmt.Sprintf("histogram_quantile(0.95, sum by (job, %s, le) (%s))", sl, buckets),
			Legend: "{{job}} {{" + sl + "}}"})
	}
	up := Sel("up")
	health := Row{Title: "Health", Panels: []Panel{
		{Kind: Stat, Title: "Requests", Unit: "reqps", Width: 5, Height: 5,
			Description: "Requests per second over all services (recorded over 5m windows).", Queries: reqTotal},
		{Kind: Stat, Title: "Error ratio", Unit: "percentunit", Width: 5, Height: 5,
			Description: "Share of requests failing over all services (recorded over 5m windows).",
			Thresholds:  []Threshold{{0.05, "orange"}, {0.10, "red"}}, Queries: errTotal},
		{Kind: Stat, Title: "Targets up", Unit: "short", Width: 4, Height: 5,
			Description: "Scrape targets whose last scrape succeeded.",
			Queries:     []Query{{Expr: fmt.Sprintf("sum(%s)", up), Instant: true}}},
		{Kind: Stat, Title: "Targets down", Unit: "short", Width: 4, Height: 5,
			Description: "Scrape targets whose last scrape failed.",
			Thresholds:  []Threshold{{1, "red"}},
			Queries:     []Query{{Expr: fmt.Sprintf("count(%s == 0) or vector(0)", up), Instant: true}}},
		{Kind: Stat, Title: "Firing alerts", Unit: "short", Width: 6, Height: 5,
			Description: "Alerts firing now, by severity (from the rules engine's ALERTS series).",
			Thresholds:  []Threshold{{1, "red"}},
			Queries:     []Query{{Expr: fmt.Sprintf("count by (severity) (%s)", Sel("ALERTS", `alertstate="firing"`)), Legend: "{{severity}}", Instant: true}}},
	}}
	traffic := Row{Title: "Services", Panels: []Panel{
		{Title: "Requests by service", Unit: "reqps", Description: "Requests per second of each service (recording rule).", Queries: reqs},
		{Title: "Error ratio by service", Unit: "percentunit", Min: Ptr(0.0),
			Description: "Share of failing requests of each service (recording rule).", Queries: errRatio},
		{Title: "p95 latency by service", Unit: "s", Min: Ptr(0.0),
			Description: "95th percentile latency of each service, from the recorded histogram buckets.", Queries: p95},
	}}
	targets := Row{Title: "Targets", Panels: []Panel{
		{Title: "Targets up by job", Unit: "short", Width: 12, Min: Ptr(0.0),
			Description: "Targets answering their scrapes, per job.",
			Queries:     []Query{{Expr: fmt.Sprintf("sum by (job) (%s)", up), Legend: "{{job}}"}}},
		{Title: "Targets down by job", Unit: "short", Width: 12, Min: Ptr(0.0),
			Description: "Targets failing their scrapes, per job.",
			Queries:     []Query{{Expr: fmt.Sprintf("count by (job) (%s == 0)", up), Legend: "{{job}}"}}},
	}}
	return DashboardSpec{
		UID: "graft-overview", Title: "Graft / System overview",
		Description: "Requests, errors, latency, targets and alerts of everything Graft monitors.",
		Tags:        []string{"graft", "overview"}, LinkTags: []string{"graft"},
		Rows: []Row{health, traffic, targets},
	}.Build()
}

// AlertsDashboard shows the alerts of Graft's rules engine: what fires now,
// what is pending, and the history.
func AlertsDashboard() (Dashboard, error) {
	firing := Sel("ALERTS", `alertstate="firing"`)
	pending := Sel("ALERTS", `alertstate="pending"`)
	return DashboardSpec{
		UID: "graft-alerts", Title: "Graft / Alerts",
		Description: "Firing and pending alerts of Graft's rules engine, and their history.",
		Tags:        []string{"graft", "alerts"}, LinkTags: []string{"graft"},
		JobQuery:      "label_values(ALERTS, job)",
		InstanceQuery: `label_values(ALERTS{job=~"$job"}, instance)`,
		Rows: []Row{
			{Title: "Now", Panels: []Panel{
				{Kind: Stat, Title: "Critical alerts firing", Unit: "short", Height: 5,
					Description: "Critical alerts firing now: these page.",
					Thresholds:  []Threshold{{1, "red"}},
					Queries:     []Query{{Expr: fmt.Sprintf("count(%s) or vector(0)", Sel("ALERTS", `alertstate="firing"`, `severity="critical"`)), Instant: true}}},
				{Kind: Stat, Title: "Warnings firing", Unit: "short", Height: 5,
					Description: "Warning alerts firing now: these go to chat.",
					Thresholds:  []Threshold{{1, "orange"}},
					Queries:     []Query{{Expr: fmt.Sprintf("count(%s) or vector(0)", Sel("ALERTS", `alertstate="firing"`, `severity="warning"`)), Instant: true}}},
				{Kind: Stat, Title: "Pending alerts", Unit: "short", Height: 5,
					Description: "Alerts whose condition holds but not yet for their 'for' duration.",
					Thresholds:  []Threshold{{1, "yellow"}},
					Queries:     []Query{{Expr: fmt.Sprintf("count(%s) or vector(0)", pending), Instant: true}}},
				{Kind: Table, Title: "Firing alerts", Unit: "short", Width: 24, Height: 8,
					Description: "Every alert firing now, with its labels.",
					Queries:     []Query{{Expr: firing, Instant: true}}},
			}},
			{Title: "History", Panels: []Panel{
				{Title: "Firing alerts over time", Unit: "short", Width: 12, Min: Ptr(0.0),
					Description: "Alerts firing, by alert name and severity.",
					Queries:     []Query{{Expr: fmt.Sprintf("count by (alertname, severity) (%s)", firing), Legend: "{{alertname}} ({{severity}})"}}},
				{Title: "Pending alerts over time", Unit: "short", Width: 12, Min: Ptr(0.0),
					Description: "Alerts pending, by alert name and severity.",
					Queries:     []Query{{Expr: fmt.Sprintf("count by (alertname, severity) (%s)", pending), Legend: "{{alertname}} ({{severity}})"}}},
			}},
		},
	}.Build()
}
