package lint

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// The dashboard model, as much of it as the checks read.
type dashboardJSON struct {
	UID        string `json:"uid"`
	Title      string `json:"title"`
	Templating struct {
		List []variableJSON `json:"list"`
	} `json:"templating"`
	Panels []panelJSON `json:"panels"`
}

type variableJSON struct {
	Name       string          `json:"name"`
	Label      string          `json:"label"`
	Type       string          `json:"type"`
	Query      json.RawMessage `json:"query"`
	Datasource *datasourceJSON `json:"datasource"`
	Multi      bool            `json:"multi"`
	AllValue   string          `json:"allValue"`
	Refresh    int             `json:"refresh"`
}

type datasourceJSON struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type panelJSON struct {
	ID          int             `json:"id"`
	Type        string          `json:"type"`
	Title       string          `json:"title"`
	Description string          `json:"description"`
	Datasource  *datasourceJSON `json:"datasource"`
	Targets     []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
	FieldConfig struct {
		Defaults struct {
			Unit string `json:"unit"`
		} `json:"defaults"`
	} `json:"fieldConfig"`
	Panels []panelJSON `json:"panels"` // collapsed rows
}

// Exclusion lifts one rule for the panels of a dashboard, with the reason.
type Exclusion struct {
	Rule, DashboardUID, Panel, Reason string
}

// Exclusions are the findings Graft accepts on its own dashboards.
var Exclusions = []Exclusion{
	{Rule: "target-instance-rule", DashboardUID: "graft-alerts", Reason: "ALERTS series carry the labels of their alert's expression: alerts aggregated per job or service have no instance label, and instance=~\".+\" would hide them"},
	{Rule: "target-instance-rule", DashboardUID: "graft-overview", Panel: "Firing alerts", Reason: "as on graft-alerts: aggregated alerts have no instance label"},
}

func excluded(rule, uid, panel string) bool {
	for _, e := range Exclusions {
		if e.Rule == rule && e.DashboardUID == uid && (e.Panel == "" || e.Panel == panel) {
			return true
		}
	}
	return false
}

const graftDatasourceType = "graftlabs-graft-datasource"

// CheckDashboard applies the dashboard-linter's conventions: a datasource
// variable; job and instance query variables on it (multi-value, .+ as the
// All value, refreshed on time change, valid queries); every panel on the
// datasource variable, with a title, a description, a valid unit and
// targets; every target valid PromQL, with $__rate_interval in rate and
// irate, counters only inside rate/irate/increase, and job and instance
// matchers on every selector. The linter applies the PromQL conventions to
// Prometheus datasource variables only; here they apply to Graft's too.
// With thirdParty, convention findings are warnings.
func CheckDashboard(file string, data []byte, thirdParty bool) []Problem {
	var d dashboardJSON
	if err := json.Unmarshal(data, &d); err != nil {
		return []Problem{{File: file, Rule: "json", Message: err.Error()}}
	}
	c := &dashboardChecker{file: file, d: d, thirdParty: thirdParty}
	if d.UID == "" || d.Title == "" {
		c.add("dashboard-uid-title", "", "dashboard has no uid or no title", false)
	}
	c.variables()
	for _, p := range d.Panels {
		c.panel(p)
		for _, inner := range p.Panels {
			c.panel(inner)
		}
	}
	return c.problems
}

type dashboardChecker struct {
	file       string
	d          dashboardJSON
	thirdParty bool
	problems   []Problem
}

// add records a finding; conventions on third-party dashboards are warnings.
func (c *dashboardChecker) add(rule, panel, msg string, convention bool) {
	if excluded(rule, c.d.UID, panel) {
		return
	}
	where := fmt.Sprintf("dashboard %q", c.d.Title)
	if panel != "" {
		where += fmt.Sprintf(", panel %q", panel)
	}
	c.problems = append(c.problems, Problem{File: c.file, Rule: rule, Message: where + ": " + msg,
		Warning: convention && c.thirdParty})
}

func (c *dashboardChecker) variable(name string) *variableJSON {
	for i := range c.d.Templating.List {
		if c.d.Templating.List[i].Name == name {
			return &c.d.Templating.List[i]
		}
	}
	return nil
}

func isDatasourceVar(uid string) bool {
	return uid == "$datasource" || uid == "${datasource}"
}

func (c *dashboardChecker) variables() {
	var ds []variableJSON
	for _, v := range c.d.Templating.List {
		if v.Type == "datasource" {
			ds = append(ds, v)
		}
	}
	if len(ds) == 0 {
		c.add("template-datasource-rule", "", "no datasource variable", true)
	}
	for _, v := range ds {
		q := queryString(v.Query)
		if v.Name != "datasource" {
			c.add("template-datasource-rule", "", fmt.Sprintf("datasource variable is named %q, should be 'datasource'", v.Name), true)
		}
		if v.Label != "Data source" {
			c.add("template-datasource-rule", "", fmt.Sprintf("datasource variable is labeled %q, should be 'Data source'", v.Label), true)
		}
		if q != graftDatasourceType && q != "prometheus" {
			c.add("template-datasource-rule", "", fmt.Sprintf("datasource variable lists %q datasources, not Graft or Prometheus", q), true)
		}
	}
	for _, name := range []string{"job", "instance"} {
		v := c.variable(name)
		rule := "template-" + name + "-rule"
		if v == nil {
			c.add(rule, "", "is missing the "+name+" variable", true)
			continue
		}
		label := strings.ToUpper(name[:1]) + name[1:]
		switch {
		case v.Type != "query":
			c.add(rule, "", fmt.Sprintf("%s variable is of type %q, not query", name, v.Type), true)
		case v.Datasource == nil || !isDatasourceVar(v.Datasource.UID):
			c.add(rule, "", fmt.Sprintf("%s variable does not use the $datasource variable", name), true)
		case !v.Multi:
			c.add(rule, "", fmt.Sprintf("%s variable is not multi-value", name), true)
		case v.AllValue != ".+":
			c.add(rule, "", fmt.Sprintf("%s variable's All value is %q, not '.+'", name, v.AllValue), true)
		case v.Label != label:
			c.add(rule, "", fmt.Sprintf("%s variable is labeled %q, not %q", name, v.Label, label), true)
		}
	}
	for _, v := range c.d.Templating.List {
		if v.Type != "query" {
			continue
		}
		if v.Refresh != 2 {
			c.add("template-on-time-change-reload-rule", "", fmt.Sprintf("variable %s refreshes on %d, not on time range change (2)", v.Name, v.Refresh), true)
		}
		if err := checkVariableQuery(queryString(v.Query)); err != nil {
			c.add("template-label-promql-rule", "", fmt.Sprintf("variable %s: %v", v.Name, err), false)
		}
	}
}

// queryString reads a variable query, a string or a {query: ...} object.
func queryString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var o struct {
		Query string `json:"query"`
	}
	_ = json.Unmarshal(raw, &o)
	return o.Query
}

var variableQuery = regexp.MustCompile(`^\s*([a-z_]+)\((.*)\)\s*$`)

// checkVariableQuery accepts the variable queries Graft's datasource (and
// Prometheus's) answers: label_names(), label_values([selector,] label),
// metrics(regex), query_result(expr), with valid PromQL inside.
func checkVariableQuery(q string) error {
	m := variableQuery.FindStringSubmatch(q)
	if m == nil {
		return fmt.Errorf("query %q is not a function call", q)
	}
	fn, arg := m[1], strings.TrimSpace(m[2])
	switch fn {
	case "label_names", "metrics":
		return nil
	case "query_result":
		_, err := ParsePromQL(arg)
		return err
	case "label_values":
		i := strings.LastIndex(arg, ",")
		if i < 0 {
			return checkLabelName(arg)
		}
		if _, err := ParsePromQL(arg[:i]); err != nil {
			return fmt.Errorf("label_values selector: %w", err)
		}
		return checkLabelName(strings.TrimSpace(arg[i+1:]))
	}
	return fmt.Errorf("unknown variable function %q", fn)
}

var labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

func checkLabelName(l string) error {
	if !labelName.MatchString(l) {
		return fmt.Errorf("%q is not a label name", l)
	}
	return nil
}

func (c *dashboardChecker) panel(p panelJSON) {
	switch p.Type {
	case "row", "text", "news", "dashlist", "alertlist", "annolist":
		return
	}
	if p.Title == "" || p.Description == "" {
		c.add("panel-title-description-rule", p.Title, "panel needs a title and a description", true)
	}
	if p.Datasource == nil || !isDatasourceVar(p.Datasource.UID) {
		c.add("panel-datasource-rule", p.Title, "panel does not use the $datasource variable", true)
	}
	switch p.Type {
	case "stat", "singlestat", "graph", "table", "timeseries", "gauge", "bargauge", "heatmap":
		if !validUnits[p.FieldConfig.Defaults.Unit] {
			c.add("panel-units-rule", p.Title, fmt.Sprintf("no or invalid unit %q", p.FieldConfig.Defaults.Unit), true)
		}
	}
	if len(p.Targets) == 0 {
		c.add("panel-no-targets-rule", p.Title, "panel has no targets", true)
	}
	for _, t := range p.Targets {
		c.target(p, t.RefID, t.Expr)
	}
}

func (c *dashboardChecker) target(p panelJSON, ref, expr string) {
	e, err := ParsePromQL(expr)
	if err != nil {
		c.add("target-promql-rule", p.Title, fmt.Sprintf("target %s: invalid PromQL %q: %v", ref, expr, err), false)
		return
	}
	rateInterval, _ := time.ParseDuration(rateIntervalStandIn)
	parser.Inspect(e, func(n parser.Node, path []parser.Node) error {
		switch n := n.(type) {
		case *parser.MatrixSelector:
			if call := parentCall(path); call != nil && (call.Func.Name == "rate" || call.Func.Name == "irate") && n.Range != rateInterval {
				c.add("target-rate-interval-rule", p.Title, fmt.Sprintf("target %s: %s should use $__rate_interval", ref, call.Func.Name), true)
			}
		case *parser.VectorSelector:
			c.selector(p, ref, n, path)
		}
		return nil
	})
}

func parentCall(path []parser.Node) *parser.Call {
	if len(path) == 0 {
		return nil
	}
	call, _ := path[len(path)-1].(*parser.Call)
	return call
}

func (c *dashboardChecker) selector(p panelJSON, ref string, vs *parser.VectorSelector, path []parser.Node) {
	for _, l := range []string{"job", "instance"} {
		if !hasMatcher(vs.LabelMatchers, l, labels.MatchRegexp, "$"+l) {
			c.add("target-"+l+"-rule", p.Title, fmt.Sprintf("target %s: selector %s lacks %s=~\"$%s\"", ref, vs, l, l), true)
		}
	}
	if !strings.HasSuffix(vs.Name, "_total") {
		return
	}
	// A counter must be ranged (parent: matrix selector) inside rate,
	// irate or increase.
	ok := false
	if len(path) >= 2 {
		if _, ranged := path[len(path)-1].(*parser.MatrixSelector); ranged {
			if call, isCall := path[len(path)-2].(*parser.Call); isCall {
				switch call.Func.Name {
				case "rate", "irate", "increase":
					ok = true
				}
			}
		}
	}
	if !ok {
		c.add("target-counter-agg-rule", p.Title, fmt.Sprintf("target %s: counter %s is not inside rate, irate or increase", ref, vs.Name), true)
	}
}

func hasMatcher(ms []*labels.Matcher, name string, t labels.MatchType, value string) bool {
	for _, m := range ms {
		if m.Name == name && m.Type == t && m.Value == value {
			return true
		}
	}
	return false
}

// validUnits are Grafana's unit ids (from its value formats), the ones the
// dashboard-linter accepts.
var validUnits = func() map[string]bool {
	ids := strings.Fields(`none string short percent percentunit humidity dB hex0x hex sci locale pixel
		bytes decbytes bits decbits kbytes deckbytes mbytes decmbytes gbytes decgbytes tbytes dectbytes
		pps binBps Bps binbps bps KiBs Kibits KBs Kbits MiBs Mibits MBs Mbits GiBs Gibits GBs Gbits
		dateTimeAsIso dateTimeAsUS dateTimeFromNow dtdurationms dtdurations dthms dtdhms timeticks clockms clocks
		hertz ns µs ms s m h d cps ops reqps rps wps iops cpm opm rpm wpm bool bool_yes_no bool_on_off
		celsius fahrenheit kelvin watt kwatt joule volt amp`)
	m := make(map[string]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}()
