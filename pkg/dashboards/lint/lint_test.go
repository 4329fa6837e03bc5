package lint

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/graftlabs/graft/pkg/dashboards/monitoring"
)

func goodDashboard(t *testing.T) map[string]any {
	t.Helper()
	d, err := monitoring.DemoService().Dashboard(monitoring.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	js, err := d.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(js, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func rules(ps []Problem) string {
	var s []string
	for _, p := range ps {
		s = append(s, p.Rule)
	}
	return strings.Join(s, ",")
}

// firstTarget is the first panel target of the dashboard.
func firstTarget(d map[string]any) map[string]any {
	for _, p := range d["panels"].([]any) {
		pm := p.(map[string]any)
		if ts, ok := pm["targets"].([]any); ok && len(ts) > 0 {
			return ts[0].(map[string]any)
		}
	}
	return nil
}

func firstPanel(d map[string]any) map[string]any {
	for _, p := range d["panels"].([]any) {
		pm := p.(map[string]any)
		if pm["type"] != "row" {
			return pm
		}
	}
	return nil
}

func variable(d map[string]any, name string) map[string]any {
	for _, v := range d["templating"].(map[string]any)["list"].([]any) {
		if vm := v.(map[string]any); vm["name"] == name {
			return vm
		}
	}
	return nil
}

func TestDashboardRules(t *testing.T) {
	cases := []struct {
		rule   string
		mutate func(d map[string]any)
	}{
		{"target-rate-interval-rule", func(d map[string]any) {
			firstTarget(d)["expr"] = `sum(rate(demo_http_requests_total{job=~"$job",instance=~"$instance"}[5m]))`
		}},
		{"target-job-rule", func(d map[string]any) {
			firstTarget(d)["expr"] = `sum(rate(demo_http_requests_total{instance=~"$instance"}[$__rate_interval]))`
		}},
		{"target-instance-rule", func(d map[string]any) {
			firstTarget(d)["expr"] = `sum(rate(demo_http_requests_total{job=~"$job",instance="x"}[$__rate_interval]))`
		}},
		{"target-counter-agg-rule", func(d map[string]any) {
			firstTarget(d)["expr"] = `sum(demo_http_requests_total{job=~"$job",instance=~"$instance"})`
		}},
		{"target-promql-rule", func(d map[string]any) { firstTarget(d)["expr"] = `sum(rate(x[$__rate_interval])` }},
		{"panel-units-rule", func(d map[string]any) {
			firstPanel(d)["fieldConfig"].(map[string]any)["defaults"].(map[string]any)["unit"] = "furlongs"
		}},
		{"panel-title-description-rule", func(d map[string]any) { delete(firstPanel(d), "description") }},
		{"panel-datasource-rule", func(d map[string]any) {
			firstPanel(d)["datasource"] = map[string]any{"type": "prometheus", "uid": "abc"}
		}},
		{"template-job-rule", func(d map[string]any) { variable(d, "job")["allValue"] = ".*" }},
		{"template-instance-rule", func(d map[string]any) { variable(d, "instance")["multi"] = false }},
		{"template-on-time-change-reload-rule", func(d map[string]any) { variable(d, "job")["refresh"] = 1 }},
		{"template-label-promql-rule", func(d map[string]any) { variable(d, "job")["query"] = "label_values(up{, job)" }},
		{"template-datasource-rule", func(d map[string]any) { variable(d, "datasource")["name"] = "ds" }},
	}
	base := goodDashboard(t)
	js, _ := json.Marshal(base)
	if ps := CheckDashboard("d.json", js, false); len(ps) != 0 {
		t.Fatalf("the generated dashboard has problems: %v", ps)
	}
	for _, c := range cases {
		d := goodDashboard(t)
		c.mutate(d)
		js, _ := json.Marshal(d)
		ps := CheckDashboard("d.json", js, false)
		if !strings.Contains(rules(ps), c.rule) {
			t.Errorf("%s: not reported; got %v", c.rule, ps)
		}
		if len(Errors(ps)) == 0 {
			t.Errorf("%s: reported as a warning on Graft's own dashboard", c.rule)
		}
		// On a third-party (mixin) dashboard conventions only warn.
		if third := CheckDashboard("mixin-x.json", js, true); c.rule != "target-promql-rule" && c.rule != "template-label-promql-rule" && len(Errors(third)) != 0 {
			t.Errorf("%s: third-party finding is an error: %v", c.rule, third)
		}
	}
}

func TestRuleFile(t *testing.T) {
	good := "groups:\n  - name: g\n    rules:\n      - record: job:x:rate5m\n        expr: sum by (job) (rate(x_total[5m]))\n" +
		"      - alert: A\n        expr: up < 1\n        for: 5m\n        labels: {severity: warning}\n        annotations: {summary: s, description: d}\n"
	if ps := CheckRuleFile("r.yaml", []byte(good), false); len(ps) != 0 {
		t.Fatalf("good file: %v", ps)
	}
	for name, bad := range map[string]string{
		"bad promql":    strings.Replace(good, "up < 1", "up <", 1),
		"unknown field": strings.Replace(good, "for: 5m", "fro: 5m", 1),
		"bad name":      strings.Replace(good, "job:x:rate5m", "x_rate5m", 1),
		"severity":      strings.Replace(good, "severity: warning", "severity: info", 1),
		"no summary":    strings.Replace(good, "summary: s, ", "", 1),
		"bad template":  strings.Replace(good, "description: d", "description: '{{ $labels.x '", 1),
	} {
		if ps := CheckRuleFile("r.yaml", []byte(bad), false); len(Errors(ps)) == 0 {
			t.Errorf("%s: not reported", name)
		}
	}
}

func alertingFiles(t *testing.T) []alertingInput {
	t.Helper()
	files, err := monitoring.Standard(monitoring.DefaultOptions(), []monitoring.Service{monitoring.DemoService()},
		monitoring.DefaultNotificationEnv()).Files()
	if err != nil {
		t.Fatal(err)
	}
	var in []alertingInput
	for name, b := range files {
		if strings.HasPrefix(name, "alerting/") {
			in = append(in, alertingInput{name: name, data: b})
		}
	}
	return in
}

func TestAlertingFiles(t *testing.T) {
	if ps := CheckAlerting(alertingFiles(t)); len(ps) != 0 {
		t.Fatalf("generated alerting files: %v", ps)
	}
	mutations := map[string]func(string) string{
		"no uid":        func(s string) string { return strings.Replace(s, "- uid: graft-", "- uid: \"\"\n        x: graft-", 1) },
		"unknown field": func(s string) string { return strings.Replace(s, "isPaused: false", "paused: false", 1) },
		"condition":     func(s string) string { return strings.Replace(s, "condition: C", "condition: D", 1) },
		"no-data state": func(s string) string { return strings.Replace(s, "noDataState: OK", "noDataState: Fine", 1) },
		"interval":      func(s string) string { return strings.Replace(s, "interval: 1m", "interval: soon", 1) },
		"receiver":      func(s string) string { return strings.Replace(s, "receiver: graft-pager", "receiver: nobody", 1) },
		"mute timing":   func(s string) string { return strings.Replace(s, "- graft-maintenance-window", "- never-defined", 1) },
		"times":         func(s string) string { return strings.Replace(s, "start_time: \"02:00\"", "start_time: \"2am\"", 1) },
		"label interpolate": func(s string) string {
			return strings.Replace(s, "severity: warning", "severity: '{{ $labels.x }}'", 1)
		},
		"promql":      func(s string) string { return strings.Replace(s, "expr: up", "expr: up{", 1) },
		"api version": func(s string) string { return strings.Replace(s, "apiVersion: 1", "apiVersion: 2", 1) },
	}
	for name, mutate := range mutations {
		in := alertingFiles(t)
		changed := false
		for i := range in {
			if m := mutate(string(in[i].data)); m != string(in[i].data) {
				in[i].data = []byte(m)
				changed = true
				break
			}
		}
		if !changed {
			t.Errorf("%s: mutation did not apply", name)
			continue
		}
		if ps := CheckAlerting(in); len(ps) == 0 {
			t.Errorf("%s: not reported", name)
		}
	}
}

func TestParsePromQLIntervals(t *testing.T) {
	for _, e := range []string{
		`rate(x[$__rate_interval])`, `rate(x[${__interval}])`, `increase(x[$__range])`,
	} {
		if _, err := ParsePromQL(e); err != nil {
			t.Errorf("%s: %v", e, err)
		}
	}
}
