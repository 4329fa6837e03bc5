package e2e

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
)

// absentByDesign lists the metric names that the generated dashboards read
// but that this test's server rightly does not have, each with the reason.
var absentByDesign = map[string]string{
	"ALERTS": "no alert fires while the test runs: the alert panels are empty",
	"graft_remote_storage_highest_timestamp_in_seconds":         "no remote_write endpoint is configured",
	"graft_remote_storage_queue_highest_sent_timestamp_seconds": "no remote_write endpoint is configured",
}

// TestGeneratedDashboardsQueryRealSeries starts the standalone server on a
// config like the default one (it scrapes itself and the demo target and
// evaluates the generated rule files), then runs every panel query of every
// generated dashboard, and every variable's label_values, through its
// HTTP API: each must evaluate without error, and every metric it reads
// must exist, so that the dashboards fit what Graft and its rules expose.
func TestGeneratedDashboardsQueryRealSeries(t *testing.T) {
	root := repoRoot()
	addr := freePort(t)
	rules := fastRules(t, filepath.Join(root, "provisioning", "rules"))
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
  - job_name: graft
    static_configs: [{targets: [%q]}]
  - job_name: demo
    metrics_path: /demo/metrics
    static_configs: [{targets: [%q]}]
`, filepath.Join(rules, "*.yaml"), addr, addr)
	path := filepath.Join(t.TempDir(), "graft.yml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	startServerAt(t, addr, path)
	// Enough scrapes and rule evaluations for rates over 5 s and for the
	// recording rules' series to exist.
	time.Sleep(8 * time.Second)

	exprs, vars := dashboardQueries(t, filepath.Join(root, "provisioning", "dashboards"))
	if len(exprs) < 30 {
		t.Fatalf("only %d panel queries found", len(exprs))
	}
	names := map[string]bool{}
	for _, e := range exprs {
		q := expandVariables(e.expr)
		var r apiResponse
		getJSON(t, "http://"+addr+"/api/v1/query?"+url.Values{"query": {q}}.Encode(), &r)
		if r.Status != "success" {
			t.Errorf("%s, panel %q: %s: %s", e.dashboard, e.panel, q, r.Error)
			continue
		}
		for _, n := range metricNames(t, q) {
			names[n] = true
		}
	}
	for _, v := range vars {
		m := labelValuesRe.FindStringSubmatch(v.expr)
		if m == nil {
			t.Errorf("%s: variable query %q is not label_values(selector, label)", v.dashboard, v.expr)
			continue
		}
		for _, n := range metricNames(t, expandVariables(m[1])) {
			names[n] = true
		}
	}
	for n := range names {
		if _, ok := absentByDesign[n]; ok {
			continue
		}
		var r struct {
			Status string
			Data   []map[string]string
		}
		getJSON(t, "http://"+addr+"/api/v1/series?"+url.Values{"match[]": {`{__name__="` + n + `"}`}}.Encode(), &r)
		if len(r.Data) == 0 {
			t.Errorf("dashboards read %s, which the server does not have", n)
		}
	}
}

// fastRules copies the generated rule files with every group evaluated
// each second instead of each minute.
func fastRules(t *testing.T, dir string) string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no rule files in %s (%v)", dir, err)
	}
	out := t.TempDir()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		fast := regexp.MustCompile(`(?m)^(\s+interval:) \S+$`).ReplaceAll(b, []byte("$1 1s"))
		if err := os.WriteFile(filepath.Join(out, filepath.Base(f)), fast, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

type apiResponse struct {
	Status, Error string
}

// dashboardQuery is one PromQL expression of a dashboard.
type dashboardQuery struct{ dashboard, panel, expr string }

type dashboardPanel struct {
	Title   string
	Targets []struct{ Expr string }
	Panels  []dashboardPanel
}

// dashboardQueries returns the panel expressions and the query variables
// of the dashboards in dir.
func dashboardQueries(t *testing.T, dir string) (exprs, vars []dashboardQuery) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards in %s (%v)", dir, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d struct {
			Title      string
			Panels     []dashboardPanel
			Templating struct {
				List []struct {
					Type  string
					Query any
				}
			}
		}
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var walk func([]dashboardPanel)
		walk = func(ps []dashboardPanel) {
			for _, p := range ps {
				for _, tg := range p.Targets {
					if tg.Expr != "" {
						exprs = append(exprs, dashboardQuery{d.Title, p.Title, tg.Expr})
					}
				}
				walk(p.Panels)
			}
		}
		walk(d.Panels)
		for _, v := range d.Templating.List {
			if q, ok := v.Query.(string); ok && v.Type == "query" {
				vars = append(vars, dashboardQuery{d.Title, "variable", q})
			}
		}
	}
	return exprs, vars
}

var labelValuesRe = regexp.MustCompile(`^label_values\((.+),\s*\w+\)$`)

// expandVariables does what Grafana does before sending a query: the
// template variables at their "All" value, the interval variables at values
// that suit a one-second scrape interval.
func expandVariables(q string) string {
	return strings.NewReplacer(
		"$__rate_interval", "5s", "${__rate_interval}", "5s",
		"$__interval", "2s", "${__interval}", "2s",
		"$__range", "1m", "${__range}", "1m",
		"$job", ".+", "$instance", ".+", "$service", ".+",
	).Replace(q)
}

func metricNames(t *testing.T, q string) []string {
	t.Helper()
	e, err := parser.NewParser(parser.Options{}).ParseExpr(q)
	if err != nil {
		t.Errorf("parse %s: %v", q, err)
		return nil
	}
	var out []string
	for _, vs := range parser.ExtractSelectors(e) {
		for _, m := range vs {
			if m.Name == "__name__" && !slices.Contains(out, m.Value) {
				out = append(out, m.Value)
			}
		}
	}
	return out
}

func getJSON(t *testing.T, u string, into any) {
	t.Helper()
	if err := json.Unmarshal([]byte(get(t, u)), into); err != nil {
		t.Fatalf("%s: %v", u, err)
	}
}
