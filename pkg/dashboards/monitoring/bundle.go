package monitoring

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/alerting"
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"go.yaml.in/yaml/v3"
)

// RuleGroup is a group of rules evaluated together. Its recording rules and
// alerts go to a Prometheus rule file; its alerts also become Grafana rules.
type RuleGroup struct {
	Name      string
	Recording []RecordingRule
	Alerts    []Alert
}

// Bundle collects generated monitoring content and writes it as
// provisioning files. Files come out in a fixed order with stable names and
// uids, so the same bundle always writes the same bytes.
type Bundle struct {
	opts          Options
	dashboards    map[string][]byte // file name under dashboards/ -> JSON
	ruleFiles     map[string][]RuleGroup
	extraRules    map[string]rulefmt.RuleGroups // rule files taken as they are (mixins)
	notifications *Notifications
	errs          []error
}

// NewBundle starts an empty bundle.
func NewBundle(o Options) *Bundle {
	return &Bundle{
		opts:       o.withDefaults(),
		dashboards: map[string][]byte{},
		ruleFiles:  map[string][]RuleGroup{},
		extraRules: map[string]rulefmt.RuleGroups{},
	}
}

// Options are the bundle's options, defaults filled in.
func (b *Bundle) Options() Options { return b.opts }

func (b *Bundle) fail(err error) {
	if err != nil {
		b.errs = append(b.errs, err)
	}
}

// AddDashboard adds a dashboard, written as dashboards/<uid>.json.
func (b *Bundle) AddDashboard(d Dashboard, err error) {
	if err != nil {
		b.fail(err)
		return
	}
	js, err := d.JSON()
	if err != nil {
		b.fail(err)
		return
	}
	b.AddDashboardJSON(d.UID+".json", js)
}

// AddDashboardJSON adds a dashboard already in JSON (from a mixin).
func (b *Bundle) AddDashboardJSON(file string, js []byte) {
	if _, dup := b.dashboards[file]; dup {
		b.fail(fmt.Errorf("dashboard file %s added twice", file))
		return
	}
	b.dashboards[file] = js
}

// AddRuleGroup adds a rule group to the rule file rules/<file>.yaml; its
// alerts also go to alerting/<file>.yaml as Grafana rules.
func (b *Bundle) AddRuleGroup(file string, g RuleGroup) {
	for _, r := range g.Recording {
		b.fail(r.validate())
	}
	for _, a := range g.Alerts {
		b.fail(a.validate())
	}
	b.ruleFiles[file] = append(b.ruleFiles[file], g)
}

// AddPrometheusRules adds a rule file as it is, as rules/<file>.yaml.
func (b *Bundle) AddPrometheusRules(file string, groups rulefmt.RuleGroups) {
	if _, dup := b.extraRules[file]; dup {
		b.fail(fmt.Errorf("rule file %s added twice", file))
		return
	}
	b.extraRules[file] = groups
}

// SetNotifications sets where the alerts go.
func (b *Bundle) SetNotifications(n Notifications) { b.notifications = &n }

// AddService adds a service's RED dashboard, recording rules and alerts.
func (b *Bundle) AddService(s Service) {
	s = s.withDefaults()
	if err := s.validate(); err != nil {
		b.fail(err)
		return
	}
	b.AddDashboard(s.Dashboard(b.opts))
	b.AddRuleGroup("service-"+s.Name, RuleGroup{Name: "graft-service-" + s.Name + "-recording", Recording: s.RecordingRules(b.opts)})
	b.AddRuleGroup("service-"+s.Name, RuleGroup{Name: "graft-service-" + s.Name + "-alerts", Alerts: s.Alerts(b.opts)})
}

// Files renders every file of the bundle, by path relative to the output
// folder.
func (b *Bundle) Files() (map[string][]byte, error) {
	if len(b.errs) > 0 {
		return nil, errors.Join(b.errs...)
	}
	files := map[string][]byte{
		"datasources/graft.yaml": datasourceFile(b.opts),
		"dashboards/graft.yaml":  []byte(dashboardProvider),
	}
	for name, js := range b.dashboards {
		files["dashboards/"+name] = js
	}
	for _, name := range sortedKeys(b.ruleFiles) {
		groups := b.ruleFiles[name]
		rf, err := encodeYAML(b.prometheusRules(groups), rulesHeader)
		if err != nil {
			return nil, fmt.Errorf("rule file %s: %w", name, err)
		}
		files["rules/"+name+".yaml"] = rf
		af, err := b.grafanaRules(groups)
		if err != nil {
			return nil, fmt.Errorf("alerting file %s: %w", name, err)
		}
		if len(af.Groups) > 0 {
			if files["alerting/"+name+".yaml"], err = encodeYAML(af, alertingHeader); err != nil {
				return nil, fmt.Errorf("alerting file %s: %w", name, err)
			}
		}
	}
	for name, groups := range b.extraRules {
		rf, err := encodeYAML(groups, rulesHeader)
		if err != nil {
			return nil, fmt.Errorf("rule file %s: %w", name, err)
		}
		files["rules/"+name+".yaml"] = rf
	}
	if b.notifications != nil {
		nf, err := b.notifications.file(b.opts.OrgID)
		if err != nil {
			return nil, fmt.Errorf("notifications: %w", err)
		}
		if files["alerting/notifications.yaml"], err = encodeYAML(nf, alertingHeader); err != nil {
			return nil, fmt.Errorf("notifications: %w", err)
		}
	}
	return files, nil
}

func (b *Bundle) prometheusRules(groups []RuleGroup) rulefmt.RuleGroups {
	var out rulefmt.RuleGroups
	for _, g := range groups {
		rg := rulefmt.RuleGroup{Name: g.Name, Interval: model.Duration(b.opts.RuleInterval)}
		for _, r := range g.Recording {
			rg.Rules = append(rg.Rules, r.PrometheusRule())
		}
		for _, a := range g.Alerts {
			rg.Rules = append(rg.Rules, a.PrometheusRule())
		}
		out.Groups = append(out.Groups, rg)
	}
	return out
}

// grafanaRules builds the groups' alerts with the SDK's builders, then
// converts them to the file-provisioning format.
func (b *Bundle) grafanaRules(groups []RuleGroup) (AlertingFile, error) {
	f := AlertingFile{APIVersion: 1}
	for _, g := range groups {
		if len(g.Alerts) == 0 {
			continue
		}
		rules := make([]cog.Builder[alerting.Rule], 0, len(g.Alerts))
		for _, a := range g.Alerts {
			rules = append(rules, a.grafanaRule(b.opts, g.Name).Title(grafanaTitle(a, g.Name)))
		}
		rg, err := alerting.NewRuleGroupBuilder(g.Name).
			Interval(alerting.Duration(b.opts.RuleInterval.Seconds())).
			Rules(rules).Build()
		if err != nil {
			return f, fmt.Errorf("group %s: %w", g.Name, err)
		}
		fg, err := fileRuleGroup(rg, b.opts.Folder, b.opts.OrgID)
		if err != nil {
			return f, err
		}
		f.Groups = append(f.Groups, fg)
	}
	return f, nil
}

// grafanaTitle keeps rule titles unique within the folder, which Grafana
// requires, while the alertname of the Prometheus rule stays short.
func grafanaTitle(a Alert, group string) string {
	return fmt.Sprintf("%s (%s, %s)", a.Name, strings.TrimPrefix(group, "graft-"), a.Severity)
}

const (
	generatedBy    = "# Generated by `go run ./pkg/dashboards`: edit the Go code, not this file.\n"
	rulesHeader    = generatedBy + "# Prometheus rule file: promtool check rules accepts it.\n"
	alertingHeader = generatedBy + "# Grafana alerting file provisioning (apiVersion 1). Grafana expands ${VAR} from its environment.\n"
)

func encodeYAML(v any, header string) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(header)
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Write writes the bundle's files under dir, replacing files of the same
// name. Each file is written to a temporary name and renamed, so a failed
// run never leaves half a file.
func (b *Bundle) Write(dir string) ([]string, error) {
	files, err := b.Files()
	if err != nil {
		return nil, err
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		if err := writeFileAtomic(filepath.Join(dir, filepath.FromSlash(p)), files[p]); err != nil {
			return nil, err
		}
	}
	return paths, nil
}

func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create folder for %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
