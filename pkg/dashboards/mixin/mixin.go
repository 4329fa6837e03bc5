// Package mixin evaluates Jsonnet monitoring mixins (grafanaDashboards,
// prometheusAlerts, prometheusRules) with go-jsonnet and adds their content,
// pointed at Graft, to a monitoring.Bundle.
package mixin

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/google/go-jsonnet"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/graftlabs/graft/pkg/dashboards/monitoring"
)

// Mixin is an evaluated mixin.
type Mixin struct {
	Name string
	// Dashboards by file name, as the mixin's grafanaDashboards has them.
	Dashboards map[string]map[string]any
	Alerts     rulefmt.RuleGroups
	Rules      rulefmt.RuleGroups
}

// entry is the file evaluated when path is a folder.
const entry = "mixin.libsonnet"

// evalSnippet imports the mixin and keeps the three fields Graft emits;
// a mixin may define any subset of them.
const evalSnippet = `local m = import %q;
{
  dashboards: if std.objectHasAll(m, 'grafanaDashboards') then m.grafanaDashboards else {},
  alerts: if std.objectHasAll(m, 'prometheusAlerts') then m.prometheusAlerts else {},
  rules: if std.objectHasAll(m, 'prometheusRules') then m.prometheusRules else {},
}`

// Load evaluates the mixin at path: a .libsonnet or .jsonnet file, or a
// folder holding mixin.libsonnet. Imports resolve from the mixin's folder
// and its vendor/ folder (jsonnet-bundler's layout).
func Load(path string) (*Mixin, error) {
	file := path
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("mixin %s: %w", path, err)
	}
	if st.IsDir() {
		file = filepath.Join(path, entry)
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, fmt.Errorf("mixin %s: %w", path, err)
	}
	dir := filepath.Dir(abs)
	vm := jsonnet.MakeVM()
	vm.Importer(&jsonnet.FileImporter{JPaths: []string{dir, filepath.Join(dir, "vendor")}})
	out, err := vm.EvaluateAnonymousSnippet(filepath.Join(dir, "graft-mixin-entry.jsonnet"),
		fmt.Sprintf(evalSnippet, filepath.Base(abs)))
	if err != nil {
		return nil, fmt.Errorf("mixin %s: evaluate: %w", path, err)
	}
	var raw struct {
		Dashboards map[string]map[string]any `json:"dashboards"`
		Alerts     json.RawMessage           `json:"alerts"`
		Rules      json.RawMessage           `json:"rules"`
	}
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		return nil, fmt.Errorf("mixin %s: decode: %w", path, err)
	}
	m := &Mixin{Name: mixinName(path, st.IsDir()), Dashboards: raw.Dashboards}
	if m.Alerts, err = parseRules(raw.Alerts); err != nil {
		return nil, fmt.Errorf("mixin %s: prometheusAlerts: %w", path, err)
	}
	if m.Rules, err = parseRules(raw.Rules); err != nil {
		return nil, fmt.Errorf("mixin %s: prometheusRules: %w", path, err)
	}
	return m, nil
}

func mixinName(path string, dir bool) string {
	base := filepath.Base(filepath.Clean(path))
	if !dir {
		base = strings.TrimSuffix(strings.TrimSuffix(base, ".libsonnet"), ".jsonnet")
		if base == "mixin" {
			base = filepath.Base(filepath.Dir(filepath.Clean(path)))
		}
	}
	return strings.TrimSuffix(base, "-mixin")
}

// parseRules validates a rule file body with Prometheus's own parser (JSON
// is YAML, so the Jsonnet output goes straight in).
func parseRules(js json.RawMessage) (rulefmt.RuleGroups, error) {
	if len(js) == 0 || string(js) == "{}" || string(js) == "null" {
		return rulefmt.RuleGroups{}, nil
	}
	groups, errs := rulefmt.Parse(js, false, model.UTF8Validation, parser.NewParser(parser.Options{}), slog.New(slog.DiscardHandler))
	if len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = e.Error()
		}
		return rulefmt.RuleGroups{}, fmt.Errorf("%s", strings.Join(msgs, "; "))
	}
	return *groups, nil
}

// AddTo adds the mixin's dashboards, pointed at Graft, as
// dashboards/mixin-<name>-<file>.json, and its alerts and rules as
// rules/mixin-<name>-alerts.yaml and rules/mixin-<name>-rules.yaml.
func (m *Mixin) AddTo(b *monitoring.Bundle) error {
	uid := b.Options().DatasourceUID
	names := make([]string, 0, len(m.Dashboards))
	for n := range m.Dashboards {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		d := m.Dashboards[n]
		PointAtGraft(d, uid)
		if _, ok := d["uid"].(string); !ok {
			return fmt.Errorf("mixin %s: dashboard %s has no uid; Graft needs stable uids", m.Name, n)
		}
		js, err := json.MarshalIndent(d, "", "  ")
		if err != nil {
			return fmt.Errorf("mixin %s: dashboard %s: %w", m.Name, n, err)
		}
		b.AddDashboardJSON("mixin-"+m.Name+"-"+strings.TrimSuffix(n, ".json")+".json", append(js, '\n'))
	}
	if len(m.Alerts.Groups) > 0 {
		b.AddPrometheusRules("mixin-"+m.Name+"-alerts", m.Alerts)
	}
	if len(m.Rules.Groups) > 0 {
		b.AddPrometheusRules("mixin-"+m.Name+"-rules", m.Rules)
	}
	return nil
}

// PointAtGraft rewrites a Prometheus dashboard in place to use Graft:
// datasource variables list Graft datasources, and panels and variables
// naming a Prometheus datasource directly use Graft's datasource uid.
// References to a datasource variable are kept.
func PointAtGraft(d map[string]any, uid string) {
	if tl, ok := d["templating"].(map[string]any); ok {
		if list, ok := tl["list"].([]any); ok {
			for _, v := range list {
				if vm, ok := v.(map[string]any); ok && vm["type"] == "datasource" && vm["query"] == "prometheus" {
					vm["query"] = monitoring.DatasourceType
				}
			}
		}
	}
	rewriteDatasources(d, uid)
}

func rewriteDatasources(node any, uid string) {
	switch n := node.(type) {
	case map[string]any:
		for k, v := range n {
			if k == "datasource" {
				n[k] = graftRef(v, uid)
				continue
			}
			rewriteDatasources(v, uid)
		}
	case []any:
		for _, v := range n {
			rewriteDatasources(v, uid)
		}
	}
}

func graftRef(ref any, uid string) any {
	switch r := ref.(type) {
	case string:
		if strings.HasPrefix(r, "-- ") { // -- Grafana --, -- Mixed --
			return r
		}
		if strings.HasPrefix(r, "$") {
			return map[string]any{"type": monitoring.DatasourceType, "uid": r}
		}
		return map[string]any{"type": monitoring.DatasourceType, "uid": uid}
	case map[string]any:
		if r["type"] == "prometheus" || r["type"] == nil {
			r["type"] = monitoring.DatasourceType
			if u, _ := r["uid"].(string); u == "" || (!strings.HasPrefix(u, "$")) {
				r["uid"] = uid
			}
		}
		return r
	}
	return ref
}
