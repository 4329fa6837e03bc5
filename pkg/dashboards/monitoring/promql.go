package monitoring

import (
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// The dashboard variables every Graft dashboard has (the dashboard-linter's
// conventions): a datasource, and multi-value job and instance variables
// whose "All" value is the regex .+.
const (
	VarDatasource = "datasource"
	VarJob        = "job"
	VarInstance   = "instance"
)

// RateInterval is Grafana's range for rate() and irate() in panels: at least
// four scrape intervals, so a rate never has fewer than two samples.
const RateInterval = "$__rate_interval"

// Sel is a series selector of metric restricted to the dashboard's job and
// instance variables, plus any extra matchers (`code=~"5.."`). Every
// selector of a dashboard panel goes through it, so every panel follows the
// variables.
func Sel(metric string, extra ...string) string {
	m := append([]string{`job=~"$job"`, `instance=~"$instance"`}, extra...)
	return metric + "{" + strings.Join(m, ",") + "}"
}

// VarMatcher is the matcher of a dashboard variable named like its label.
func VarMatcher(label string) string {
	return fmt.Sprintf(`%s=~"$%s"`, label, label)
}

// promDuration renders d the way PromQL and rule files write durations (5m,
// 1h30m), which also names recording rules (rate5m).
func promDuration(d time.Duration) string {
	return model.Duration(d).String()
}

// withoutSuffix strips a counter's _total so recorded names follow the
// level:metric:operations convention (http_requests:rate5m).
func withoutSuffix(metric, suffix string) string {
	return strings.TrimSuffix(metric, suffix)
}
