package monitoring

import (
	"fmt"
	"regexp"
	"time"
)

// Service describes a set of services instrumented the RED way: a request
// counter with a status label, a latency histogram, and optionally CPU and
// memory. Services in the set are told apart by ServiceLabel. From it come a
// RED dashboard, the recording rules its expensive queries need, and the
// service alerts.
type Service struct {
	// Name identifies the set in uids, file and group names: [a-z0-9-]+.
	Name  string
	Title string
	// Job, if set, is the scrape job exposing the metrics: an alert fires
	// when none of its targets is known any more.
	Job string
	// ServiceLabel tells services apart (default "service").
	ServiceLabel string
	// Requests is the request counter (http_requests_total).
	Requests string
	// StatusLabel and ErrorStatus select the failed requests (default
	// code=~"5..").
	StatusLabel, ErrorStatus string
	// Duration is the classic latency histogram, without _bucket
	// (http_request_duration_seconds).
	Duration string
	// CPU (a counter of CPU seconds) and Memory (a gauge of bytes) are
	// optional.
	CPU, Memory string
	SLO         SLO
}

// SLO holds the thresholds of a service's alerts and panels.
type SLO struct {
	// Error ratios (0.05 = 5% of requests failing).
	ErrorRatioWarning, ErrorRatioCritical float64
	// LatencyQuantile is the quantile the latency alerts watch (0.95).
	LatencyQuantile                 float64
	LatencyWarning, LatencyCritical time.Duration
	// MinRequestRate (requests/s) keeps error and latency alerts quiet when
	// a handful of requests make any ratio meaningless.
	MinRequestRate float64
}

// DefaultSLO: warn at 5% errors or p95 above 500ms for 10 minutes; page at
// 10% errors or p95 above 1s for 5 minutes; never below 0.1 request/s.
func DefaultSLO() SLO {
	return SLO{
		ErrorRatioWarning: 0.05, ErrorRatioCritical: 0.10,
		LatencyQuantile: 0.95, LatencyWarning: 500 * time.Millisecond, LatencyCritical: time.Second,
		MinRequestRate: 0.1,
	}
}

var serviceName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

func (s Service) withDefaults() Service {
	if s.ServiceLabel == "" {
		s.ServiceLabel = "service"
	}
	if s.StatusLabel == "" {
		s.StatusLabel = "code"
	}
	if s.ErrorStatus == "" {
		s.ErrorStatus = "5.."
	}
	if s.SLO == (SLO{}) {
		s.SLO = DefaultSLO()
	}
	if s.Title == "" {
		s.Title = s.Name
	}
	return s
}

func (s Service) validate() error {
	if !serviceName.MatchString(s.Name) {
		return fmt.Errorf("service %q: name must match %s", s.Name, serviceName)
	}
	if s.Requests == "" || s.Duration == "" {
		return fmt.Errorf("service %s: the requests counter and the duration histogram are required", s.Name)
	}
	if s.SLO.ErrorRatioWarning >= s.SLO.ErrorRatioCritical || s.SLO.LatencyWarning >= s.SLO.LatencyCritical {
		return fmt.Errorf("service %s: warning thresholds must be below critical ones", s.Name)
	}
	if s.SLO.LatencyQuantile <= 0 || s.SLO.LatencyQuantile >= 1 {
		return fmt.Errorf("service %s: latency quantile %v is not within (0, 1)", s.Name, s.SLO.LatencyQuantile)
	}
	return nil
}

// recorded names the series of the service's recording rules:
// level:metric:operations, where the level lists the labels kept.
type recorded struct {
	requests, errors, buckets          string // per job, instance and service
	jobRequests, jobErrorRatio, jobLat string // per job and service, for alerts
}

func (s Service) recorded(o Options) recorded {
	w := promDuration(o.RuleWindow)
	inst := "job_instance_" + s.ServiceLabel
	job := "job_" + s.ServiceLabel
	base := withoutSuffix(s.Requests, "_total")
	q := fmt.Sprintf("p%s", formatFloat(s.SLO.LatencyQuantile*100))
	return recorded{
		requests:      fmt.Sprintf("%s:%s:rate%s", inst, base, w),
		errors:        fmt.Sprintf("%s:%s_errors:rate%s", inst, base, w),
		buckets:       fmt.Sprintf("%s_le:%s_bucket:rate%s", inst, s.Duration, w),
		jobRequests:   fmt.Sprintf("%s:%s:rate%s", job, base, w),
		jobErrorRatio: fmt.Sprintf("%s:%s_errors:ratio_rate%s", job, base, w),
		jobLat:        fmt.Sprintf("%s:%s:%s_rate%s", job, s.Duration, q, w),
	}
}

// RecordingRules precompute what the overview dashboard and the alerts
// read: request and error rates and latency buckets per instance, then
// per job for the alerts.
func (s Service) RecordingRules(o Options) []RecordingRule {
	o = o.withDefaults()
	s = s.withDefaults()
	r := s.recorded(o)
	w := promDuration(o.RuleWindow)
	by := "job, instance, " + s.ServiceLabel
	errSel := fmt.Sprintf(`%s{%s=~"%s"}`, s.Requests, s.StatusLabel, s.ErrorStatus)
	rules := []RecordingRule{
		{Record: r.requests, Expr: fmt.Sprintf("sum by (%s) (rate(%s[%s]))", by, s.Requests, w)},
		{Record: r.errors, Expr: fmt.Sprintf("sum by (%s) (rate(%s[%s]))", by, errSel, w)},
		{Record: r.buckets, Expr: fmt.Sprintf("sum by (%s, le) (rate(%s_bucket[%s]))", by, s.Duration, w)},
		{Record: r.jobRequests, Expr: fmt.Sprintf("sum without (instance) (%s)", r.requests)},
		{Record: r.jobErrorRatio, Expr: fmt.Sprintf("sum without (instance) (%s)\n/\nsum without (instance) (%s)", r.errors, r.requests)},
		{Record: r.jobLat, Expr: fmt.Sprintf("histogram_quantile(%s, sum without (instance) (%s))", formatFloat(s.SLO.LatencyQuantile), r.buckets)},
	}
	return rules
}

// Alerts are the service's error-rate and latency alerts, at warning and
// critical severities, and the alert for a job whose targets all vanished.
func (s Service) Alerts(o Options) []Alert {
	o = o.withDefaults()
	s = s.withDefaults()
	r := s.recorded(o)
	svc := fmt.Sprintf("{{ $labels.%s }}", s.ServiceLabel)
	traffic := fmt.Sprintf("\nand on (job, %s)\n%s > %s", s.ServiceLabel, r.jobRequests, formatFloat(s.SLO.MinRequestRate))
	raw := s.rawQueries(o)
	rawTraffic := fmt.Sprintf("\nand on (job, %s)\n%s > %s", s.ServiceLabel, raw.requests, formatFloat(s.SLO.MinRequestRate))
	q := formatFloat(s.SLO.LatencyQuantile * 100)
	errAlert := func(sev Severity, th float64, f time.Duration) Alert {
		return Alert{
			Name: "HighErrorRate", Severity: sev, Query: r.jobErrorRatio + traffic, GrafanaQuery: raw.errorRatio + rawTraffic, Op: Above, Threshold: th, For: f,
			Summary: fmt.Sprintf("High error rate on %s", svc),
			Description: fmt.Sprintf("{{ $value | humanizePercentage }} of the requests to %s (job {{ $labels.job }}) fail, above the %s %s threshold.",
				svc, formatFloat(th*100)+"%", sev),
			Labels: map[string]string{"service_set": s.Name},
		}
	}
	latAlert := func(sev Severity, th time.Duration, f time.Duration) Alert {
		return Alert{
			Name: "HighLatency", Severity: sev, Query: r.jobLat + traffic, GrafanaQuery: raw.latency + rawTraffic, Op: Above, Threshold: th.Seconds(), For: f,
			Summary: fmt.Sprintf("High p%s latency on %s", q, svc),
			Description: fmt.Sprintf("The p%s latency of %s (job {{ $labels.job }}) is {{ $value | humanizeDuration }}, above the %s %s threshold.",
				q, svc, th, sev),
			Labels: map[string]string{"service_set": s.Name},
		}
	}
	alerts := []Alert{
		errAlert(Warning, s.SLO.ErrorRatioWarning, 10*time.Minute),
		errAlert(Critical, s.SLO.ErrorRatioCritical, 5*time.Minute),
		latAlert(Warning, s.SLO.LatencyWarning, 10*time.Minute),
		latAlert(Critical, s.SLO.LatencyCritical, 5*time.Minute),
	}
	if s.Job != "" {
		alerts = append(alerts, Alert{
			Name: "JobTargetsMissing", Severity: Critical,
			Query: fmt.Sprintf(`absent(up{job=%q})`, s.Job), Op: Above, Threshold: 0, For: 5 * time.Minute,
			Summary:     fmt.Sprintf("No target of job %s is known", s.Job),
			Description: fmt.Sprintf("Graft has no target of job %s to scrape for 5 minutes: its service discovery or configuration lost them all.", s.Job),
			Labels:      map[string]string{"service_set": s.Name},
		})
	}
	return alerts
}

// rawQueries are the per job and service series the recording rules
// record, computed from the raw series.
func (s Service) rawQueries(o Options) (q struct{ requests, errorRatio, latency string }) {
	w := promDuration(o.RuleWindow)
	by := "job, " + s.ServiceLabel
	q.requests = fmt.Sprintf("sum by (%s) (rate(%s[%s]))", by, s.Requests, w)
	errs := fmt.Sprintf(`sum by (%s) (rate(%s{%s=~"%s"}[%s]))`, by, s.Requests, s.StatusLabel, s.ErrorStatus, w)
	q.errorRatio = fmt.Sprintf("(\n  %s\n  /\n  %s\n)", errs, q.requests)
	q.latency = fmt.Sprintf("histogram_quantile(%s, sum by (%s, le) (rate(%s_bucket[%s])))",
		formatFloat(s.SLO.LatencyQuantile), by, s.Duration, w)
	return q
}

// Dashboard is the service's RED dashboard: rate, errors and latency
// quantiles from the histograms over $__rate_interval, a latency heatmap
// whose exemplars link to traces, CPU and memory.
func (s Service) Dashboard(o Options) (Dashboard, error) {
	s = s.withDefaults()
	sl := s.ServiceLabel
	svc := VarMatcher(sl)
	req := Sel(s.Requests, svc)
	errs := Sel(s.Requests, svc, fmt.Sprintf(`%s=~"%s"`, s.StatusLabel, s.ErrorStatus))
	bucket := Sel(s.Duration+"_bucket", svc)
	rate := func(sel string) string { return fmt.Sprintf("rate(%s[%s])", sel, RateInterval) }
	quantile := func(q string) Query {
		return Query{
			Expr:   fmt.Sprintf("histogram_quantile(%s, sum by (%s, le) (%s))", q, sl, rate(bucket)),
			Legend: fmt.Sprintf("{{%s}} p%s", sl, trimZeroDot(q)),
		}
	}
	rows := []Row{
		{Title: "Traffic and errors", Panels: []Panel{
			{Title: "Requests", Unit: "reqps", Width: 8,
				Description: "Requests served per second, by service.",
				Queries:     []Query{{Expr: fmt.Sprintf("sum by (%s) (%s)", sl, rate(req)), Legend: "{{" + sl + "}}"}}},
			{Title: "Errors", Unit: "reqps", Width: 8,
				Description: fmt.Sprintf("Failed requests (%s %s) per second, by service and status.", s.StatusLabel, s.ErrorStatus),
				Queries:     []Query{{Expr: fmt.Sprintf("sum by (%s, %s) (%s)", sl, s.StatusLabel, rate(errs)), Legend: "{{" + sl + "}} {{" + s.StatusLabel + "}}"}}},
			{Title: "Error ratio", Unit: "percentunit", Width: 8, Min: Ptr(0.0),
				Description: "Share of requests that fail; the lines are the warning and critical alert thresholds.",
				Thresholds:  []Threshold{{s.SLO.ErrorRatioWarning, "orange"}, {s.SLO.ErrorRatioCritical, "red"}},
				Queries: []Query{{Expr: fmt.Sprintf("sum by (%s) (%s)\n/\nsum by (%s) (%s)", sl, rate(errs), sl, rate(req)),
					Legend: "{{" + sl + "}}"}}},
		}},
		{Title: "Latency", Panels: []Panel{
			{Title: "Latency quantiles", Unit: "s", Width: 12,
				Description: "p50, p95 and p99 request latency, estimated from the latency histogram; the lines are the alert thresholds.",
				Thresholds:  []Threshold{{s.SLO.LatencyWarning.Seconds(), "orange"}, {s.SLO.LatencyCritical.Seconds(), "red"}},
				Queries:     []Query{quantile("0.5"), quantile("0.95"), quantile("0.99")}},
			{Kind: Heatmap, Title: "Latency distribution", Unit: "s", Width: 12,
				Description: "Requests per latency bucket over time. The dots are exemplars: click one to open its trace.",
				Queries: []Query{{Expr: fmt.Sprintf("sum by (le) (%s)", rate(bucket)), Legend: "{{le}}",
					Heatmap: true, Exemplars: true}}},
		}},
	}
	if res := s.resourcePanels(svc, rate); len(res) > 0 {
		rows = append(rows, Row{Title: "Resources", Panels: res})
	}
	return DashboardSpec{
		UID:           "graft-red-" + s.Name,
		Title:         s.Title + " / RED",
		Description:   fmt.Sprintf("Rate, errors and duration of %s, with CPU and memory.", s.Title),
		Tags:          []string{"graft", "red", s.Name},
		LinkTags:      []string{"graft"},
		JobQuery:      fmt.Sprintf("label_values(%s, job)", s.Requests),
		InstanceQuery: fmt.Sprintf(`label_values(%s{job=~"$job"}, instance)`, s.Requests),
		Variables: []Variable{{Name: sl, Label: titleCase(sl),
			Query: fmt.Sprintf(`label_values(%s{job=~"$job",instance=~"$instance"}, %s)`, s.Requests, sl)}},
		Rows: rows,
	}.Build()
}

func (s Service) resourcePanels(svc string, rate func(string) string) []Panel {
	sl := s.ServiceLabel
	var out []Panel
	if s.CPU != "" {
		out = append(out, Panel{Title: "CPU", Unit: "short", Width: 12, Min: Ptr(0.0),
			Description: "CPU used, in cores (CPU seconds per second), by service.",
			Queries:     []Query{{Expr: fmt.Sprintf("sum by (%s) (%s)", sl, rate(Sel(s.CPU, svc))), Legend: "{{" + sl + "}}"}}})
	}
	if s.Memory != "" {
		out = append(out, Panel{Title: "Memory", Unit: "bytes", Width: 12, Min: Ptr(0.0),
			Description: "Resident memory, by service.",
			Queries:     []Query{{Expr: fmt.Sprintf("sum by (%s) (%s)", sl, Sel(s.Memory, svc)), Legend: "{{" + sl + "}}"}}})
	}
	return out
}

func trimZeroDot(q string) string {
	f := 0.0
	fmt.Sscanf(q, "%g", &f)
	return formatFloat(f * 100)
}

func titleCase(s string) string {
	if s == "" {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
