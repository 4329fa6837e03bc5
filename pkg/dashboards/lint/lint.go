// Package lint checks generated provisioning files the way the tools that
// consume them do: PromQL parses with Prometheus's parser, dashboards follow
// the conventions of Grafana's dashboard-linter, rule files pass
// Prometheus's rule validation (what promtool check rules runs), and Grafana
// alerting files satisfy Grafana's file-provisioning rules.
package lint

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Problem is one finding. A warning is reported but does not fail a check.
type Problem struct {
	File    string
	Rule    string
	Message string
	Warning bool
}

func (p Problem) String() string {
	level := "error"
	if p.Warning {
		level = "warning"
	}
	return fmt.Sprintf("%s: %s [%s] %s", p.File, level, p.Rule, p.Message)
}

// Errors keeps the problems that are not warnings.
func Errors(ps []Problem) []Problem {
	var out []Problem
	for _, p := range ps {
		if !p.Warning {
			out = append(out, p)
		}
	}
	return out
}

// CheckDir checks the files (paths relative to dir, slash-separated) by
// kind: dashboards/*.json, rules/*.yaml and alerting/*.yaml. Content that
// came from a mixin (files named mixin-*) is third-party: convention
// findings on it are warnings, while invalid PromQL or rules stay errors.
func CheckDir(dir string, files []string) ([]Problem, error) {
	sort.Strings(files)
	var problems []Problem
	var alerting []alertingInput
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f)))
		if err != nil {
			return nil, fmt.Errorf("check %s: %w", f, err)
		}
		third := strings.HasPrefix(filepath.Base(f), "mixin-")
		switch {
		case strings.HasPrefix(f, "dashboards/") && strings.HasSuffix(f, ".json"):
			problems = append(problems, CheckDashboard(f, data, third)...)
		case strings.HasPrefix(f, "rules/") && strings.HasSuffix(f, ".yaml"):
			problems = append(problems, CheckRuleFile(f, data, third)...)
		case strings.HasPrefix(f, "alerting/") && strings.HasSuffix(f, ".yaml"):
			alerting = append(alerting, alertingInput{name: f, data: data})
		}
	}
	problems = append(problems, CheckAlerting(alerting)...)
	return problems, nil
}
