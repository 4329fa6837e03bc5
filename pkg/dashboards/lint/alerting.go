package lint

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/graftlabs/graft/pkg/dashboards/monitoring"
)

type alertingInput struct {
	name string
	data []byte
}

// Grafana's built-in receiver, which policies may route to without
// provisioning it.
const defaultReceiver = "grafana-default-email"

var (
	noDataStates  = map[string]bool{"Alerting": true, "NoData": true, "OK": true, "KeepLast": true}
	execErrStates = map[string]bool{"Alerting": true, "Error": true, "OK": true, "KeepLast": true}
	contactTypes  = map[string]bool{"alertmanager": true, "dingding": true, "discord": true, "email": true,
		"googlechat": true, "kafka": true, "line": true, "opsgenie": true, "pagerduty": true, "pushover": true,
		"sensugo": true, "slack": true, "teams": true, "telegram": true, "threema": true, "victorops": true,
		"webhook": true, "wecom": true, "sns": true, "webex": true, "oncall": true, "mqtt": true, "jira": true}
	matchOps  = map[string]bool{"=": true, "!=": true, "=~": true, "!~": true}
	clockTime = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$`)
	// A $ in an interpolated field must be a braced environment reference
	// or an escaped $$: Grafana expands a bare $name too ($labels in a
	// template becomes nothing), which is never what a template meant.
	envRef   = regexp.MustCompile(`\$\$|\$\{[A-Za-z_][A-Za-z0-9_]*\}`)
	weekdays = map[string]bool{"sunday": true, "monday": true, "tuesday": true, "wednesday": true,
		"thursday": true, "friday": true, "saturday": true}
)

// CheckAlerting validates Grafana alerting provisioning files with the
// rules Grafana applies when it loads them: apiVersion 1, known fields
// only; groups with a name, a folder and a positive interval; rules with
// a uid (unique, at most 40 characters), a title, data steps with refIds
// and datasource uids, a condition naming one of them, valid for,
// noDataState and execErrState; contact points with named receivers of a
// known type with a uid and settings; policies routing to contact points
// that exist, with valid matchers and mute timings that exist; templates
// with a name and a body; mute timings with valid times and days. Across
// the files, names and uids are unique. Queries to a datasource must be
// valid PromQL. Labels and settings, which Grafana interpolates, may hold
// $ only in environment references.
func CheckAlerting(files []alertingInput) []Problem {
	c := &alertingChecker{uids: map[string]string{}, receivers: map[string]bool{defaultReceiver: true},
		muteTimes: map[string]bool{}}
	var parsed []struct {
		name string
		f    monitoring.AlertingFile
	}
	for _, in := range files {
		var f monitoring.AlertingFile
		dec := yaml.NewDecoder(bytes.NewReader(in.data))
		dec.KnownFields(true)
		if err := dec.Decode(&f); err != nil {
			c.add(in.name, "yaml", err.Error())
			continue
		}
		if f.APIVersion != 1 {
			c.add(in.name, "api-version", fmt.Sprintf("apiVersion is %d, not 1", f.APIVersion))
		}
		for _, cp := range f.ContactPoints {
			c.receivers[cp.Name] = true
		}
		for _, m := range f.MuteTimes {
			c.muteTimes[m.Name] = true
		}
		parsed = append(parsed, struct {
			name string
			f    monitoring.AlertingFile
		}{in.name, f})
	}
	for _, p := range parsed {
		c.file = p.name
		for _, g := range p.f.Groups {
			c.group(g)
		}
		for _, cp := range p.f.ContactPoints {
			c.contactPoint(cp)
		}
		for _, pol := range p.f.Policies {
			if pol.Receiver == "" {
				c.add(p.name, "policy", "the root policy has no receiver")
			}
			c.policy(pol)
		}
		for _, t := range p.f.Templates {
			if t.Name == "" || strings.TrimSpace(t.Template) == "" {
				c.add(p.name, "template", "a template needs a name and a body")
			}
			c.interpolated("template "+t.Name, t.Template)
		}
		for _, m := range p.f.MuteTimes {
			c.muteTime(m)
		}
	}
	return c.problems
}

type alertingChecker struct {
	file      string
	problems  []Problem
	uids      map[string]string // rule and receiver uids -> where
	receivers map[string]bool
	muteTimes map[string]bool
}

func (c *alertingChecker) add(file, rule, msg string) {
	c.problems = append(c.problems, Problem{File: file, Rule: rule, Message: msg})
}

func (c *alertingChecker) uid(kind, uid, where string) {
	switch {
	case strings.TrimSpace(uid) == "" || strings.ContainsAny(uid, " \t\n"):
		c.add(c.file, kind, fmt.Sprintf("%s: uid %q is empty or has whitespace", where, uid))
	case len(uid) > 40:
		c.add(c.file, kind, fmt.Sprintf("%s: uid %q is longer than 40 characters", where, uid))
	case c.uids[uid] != "":
		c.add(c.file, kind, fmt.Sprintf("%s: uid %q already used by %s", where, uid, c.uids[uid]))
	default:
		c.uids[uid] = where
	}
}

func (c *alertingChecker) interpolated(where, s string) {
	rest := envRef.ReplaceAllString(s, "")
	if strings.Contains(rest, "$") {
		c.add(c.file, "interpolation", fmt.Sprintf("%s: %q has a $ Grafana would expand as an environment variable (write $$)", where, s))
	}
}

func (c *alertingChecker) group(g monitoring.FileRuleGroup) {
	where := fmt.Sprintf("group %q", g.Name)
	if strings.TrimSpace(g.Name) == "" || strings.TrimSpace(g.Folder) == "" {
		c.add(c.file, "rule-group", where+": name and folder are required")
	}
	if d, err := model.ParseDuration(g.Interval); err != nil || d <= 0 {
		c.add(c.file, "rule-group", fmt.Sprintf("%s: interval %q is not a positive duration", where, g.Interval))
	}
	titles := map[string]bool{}
	for _, r := range g.Rules {
		c.rule(where, r)
		if titles[r.Title] {
			c.add(c.file, "rule", fmt.Sprintf("%s: title %q appears twice", where, r.Title))
		}
		titles[r.Title] = true
	}
}

func (c *alertingChecker) rule(group string, r monitoring.FileRule) {
	where := fmt.Sprintf("%s, rule %q", group, r.Title)
	if r.Title == "" {
		c.add(c.file, "rule", group+": a rule has no title")
	}
	c.uid("rule", r.UID, where)
	if len(r.Data) == 0 {
		c.add(c.file, "rule", where+": no data")
	}
	refs := map[string]bool{}
	for _, q := range r.Data {
		if q.RefID == "" || q.DatasourceUID == "" || len(q.Model) == 0 {
			c.add(c.file, "rule", fmt.Sprintf("%s: query %q needs refId, datasourceUid and model", where, q.RefID))
		}
		if refs[q.RefID] {
			c.add(c.file, "rule", fmt.Sprintf("%s: refId %q appears twice", where, q.RefID))
		}
		refs[q.RefID] = true
		if q.DatasourceUID == "__expr__" {
			if e, _ := q.Model["expression"].(string); e != "" && !refs[e] {
				c.add(c.file, "rule", fmt.Sprintf("%s: expression %s reads %q, which no earlier step defines", where, q.RefID, e))
			}
			continue
		}
		if q.RelativeTimeRange.From <= q.RelativeTimeRange.To {
			c.add(c.file, "rule", fmt.Sprintf("%s: query %s has an empty relative time range", where, q.RefID))
		}
		if expr, ok := q.Model["expr"].(string); ok {
			if _, err := ParsePromQL(expr); err != nil {
				c.add(c.file, "promql", fmt.Sprintf("%s: query %s: %v", where, q.RefID, err))
			}
		}
	}
	if !refs[r.Condition] {
		c.add(c.file, "rule", fmt.Sprintf("%s: condition %q is not the refId of a step", where, r.Condition))
	}
	if r.For != "" {
		if _, err := model.ParseDuration(r.For); err != nil {
			c.add(c.file, "rule", fmt.Sprintf("%s: for %q: %v", where, r.For, err))
		}
	}
	if r.NoDataState != "" && !noDataStates[r.NoDataState] {
		c.add(c.file, "rule", fmt.Sprintf("%s: noDataState %q is unknown", where, r.NoDataState))
	}
	if r.ExecErrState != "" && !execErrStates[r.ExecErrState] {
		c.add(c.file, "rule", fmt.Sprintf("%s: execErrState %q is unknown", where, r.ExecErrState))
	}
	for k, v := range r.Labels {
		c.interpolated(where+" label "+k, v)
	}
}

func (c *alertingChecker) contactPoint(cp monitoring.FileContactPoint) {
	where := fmt.Sprintf("contact point %q", cp.Name)
	if strings.TrimSpace(cp.Name) == "" || len(cp.Receivers) == 0 {
		c.add(c.file, "contact-point", where+": a name and receivers are required")
	}
	for _, r := range cp.Receivers {
		c.uid("contact-point", r.UID, where)
		if !contactTypes[r.Type] {
			c.add(c.file, "contact-point", fmt.Sprintf("%s: type %q is unknown", where, r.Type))
		}
		if len(r.Settings) == 0 {
			c.add(c.file, "contact-point", where+": no settings")
		}
		for k, v := range r.Settings {
			if s, ok := v.(string); ok {
				c.interpolated(where+" setting "+k, s)
			}
		}
	}
}

func (c *alertingChecker) policy(p monitoring.FilePolicy) {
	if p.Receiver != "" && !c.receivers[p.Receiver] {
		c.add(c.file, "policy", fmt.Sprintf("policy routes to %q, which no contact point provides", p.Receiver))
	}
	for _, m := range p.ObjectMatchers {
		if len(m) != 3 || !matchOps[m[1]] {
			c.add(c.file, "policy", fmt.Sprintf("object matcher %q is not [label, op, value]", m))
		}
	}
	for _, mt := range p.MuteTimeIntervals {
		if !c.muteTimes[mt] {
			c.add(c.file, "policy", fmt.Sprintf("policy mutes during %q, which no mute timing defines", mt))
		}
	}
	for _, d := range []string{p.GroupWait, p.GroupInterval, p.RepeatInterval} {
		if d != "" {
			if _, err := model.ParseDuration(d); err != nil {
				c.add(c.file, "policy", fmt.Sprintf("duration %q: %v", d, err))
			}
		}
	}
	for _, r := range p.Routes {
		if r.OrgID != 0 {
			c.add(c.file, "policy", "a nested route carries an orgId")
		}
		c.policy(r)
	}
}

func (c *alertingChecker) muteTime(m monitoring.FileMuteTime) {
	where := fmt.Sprintf("mute timing %q", m.Name)
	if m.Name == "" || len(m.TimeIntervals) == 0 {
		c.add(c.file, "mute-time", where+": a name and time intervals are required")
	}
	for _, ti := range m.TimeIntervals {
		for _, t := range ti.Times {
			if !clockTime.MatchString(t.StartTime) || !clockTime.MatchString(t.EndTime) || t.StartTime >= t.EndTime {
				c.add(c.file, "mute-time", fmt.Sprintf("%s: times %s-%s are not HH:MM with start before end", where, t.StartTime, t.EndTime))
			}
		}
		for _, w := range ti.Weekdays {
			for _, d := range strings.Split(w, ":") {
				if !weekdays[d] {
					c.add(c.file, "mute-time", fmt.Sprintf("%s: weekday %q is unknown", where, d))
				}
			}
		}
		if ti.Location != "" {
			if _, err := time.LoadLocation(ti.Location); err != nil {
				c.add(c.file, "mute-time", fmt.Sprintf("%s: location %q: %v", where, ti.Location, err))
			}
		}
	}
}
