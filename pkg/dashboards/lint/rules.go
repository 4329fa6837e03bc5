package lint

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

// CheckRuleFile validates a Prometheus rule file with Prometheus's own rule
// parser (strict fields, PromQL, templates: what promtool check rules
// runs), then Graft's conventions: recording rules named
// level:metric:operations, alerts with a warning or critical severity and
// summary and description annotations, no duplicate group names.
func CheckRuleFile(file string, data []byte, thirdParty bool) []Problem {
	groups, errs := rulefmt.Parse(data, false, model.UTF8Validation, parser.NewParser(parser.Options{}), slog.New(slog.DiscardHandler))
	var out []Problem
	for _, err := range errs {
		out = append(out, Problem{File: file, Rule: "rulefmt", Message: err.Error()})
	}
	if groups == nil {
		return out
	}
	conv := func(msg string) {
		out = append(out, Problem{File: file, Rule: "rule-conventions", Message: msg, Warning: thirdParty})
	}
	seen := map[string]bool{}
	for _, g := range groups.Groups {
		if seen[g.Name] {
			out = append(out, Problem{File: file, Rule: "rulefmt", Message: fmt.Sprintf("group %q appears twice", g.Name)})
		}
		seen[g.Name] = true
		for _, r := range g.Rules {
			if r.Record != "" && strings.Count(r.Record, ":") != 2 {
				conv(fmt.Sprintf("group %s: recording rule %s is not named level:metric:operations", g.Name, r.Record))
			}
			if r.Alert == "" {
				continue
			}
			if s := r.Labels["severity"]; s != "warning" && s != "critical" {
				conv(fmt.Sprintf("group %s: alert %s has severity %q, not warning or critical", g.Name, r.Alert, s))
			}
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				conv(fmt.Sprintf("group %s: alert %s needs summary and description annotations", g.Name, r.Alert))
			}
		}
	}
	return out
}
