package monitoring

import (
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/grafana/grafana-foundation-sdk/go/alerting"
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/expr"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

// Severity routes an alert: critical pages, warning goes to chat.
type Severity string

const (
	Critical Severity = "critical"
	Warning  Severity = "warning"
)

// Comparison is how an alert's query is compared with its threshold.
type Comparison string

const (
	Above Comparison = ">"
	Below Comparison = "<"
)

// Alert is one alerting rule, emitted both as a Prometheus rule (for Graft's
// rules engine) and as a Grafana-managed rule querying the Graft datasource.
// The query and the threshold are kept apart so Grafana shows the threshold
// as its own step: the Prometheus form is `Query > Threshold`.
type Alert struct {
	Name     string
	Severity Severity
	Query    string
	// GrafanaQuery, if set, is the same condition for Grafana-managed rules
	// when Query reads recorded series: Grafana does not run Graft's
	// recording rules, so its rules compute from the raw series.
	GrafanaQuery string
	Op           Comparison
	Threshold    float64
	// For is how long the condition must hold before the alert fires: long
	// enough that a blip does not page anyone.
	For         time.Duration
	Summary     string
	Description string
	// Runbook, if set, becomes the runbook_url annotation.
	Runbook string
	Labels  map[string]string
}

// Expr is the Prometheus alerting expression.
func (a Alert) Expr() string {
	q := a.Query
	if needsParens(q) {
		q = "(" + q + ")"
	}
	return fmt.Sprintf("%s %s %s", q, a.Op, formatFloat(a.Threshold))
}

func (a Alert) grafanaQuery() string {
	if a.GrafanaQuery != "" {
		return a.GrafanaQuery
	}
	return a.Query
}

func needsParens(q string) bool {
	e, err := parser.NewParser(parser.Options{}).ParseExpr(q)
	if err != nil {
		return true
	}
	_, binary := e.(*parser.BinaryExpr)
	return binary
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func (a Alert) validate() error {
	switch {
	case a.Name == "" || a.Query == "":
		return fmt.Errorf("alert %q: name and query are required", a.Name)
	case a.Severity != Critical && a.Severity != Warning:
		return fmt.Errorf("alert %s: severity %q is neither critical nor warning", a.Name, a.Severity)
	case a.Op != Above && a.Op != Below:
		return fmt.Errorf("alert %s: comparison %q is neither > nor <", a.Name, a.Op)
	case a.Summary == "" || a.Description == "":
		return fmt.Errorf("alert %s: summary and description are required", a.Name)
	}
	for _, q := range []string{a.Expr(), a.grafanaQuery()} {
		if _, err := parser.NewParser(parser.Options{}).ParseExpr(q); err != nil {
			return fmt.Errorf("alert %s: %w", a.Name, err)
		}
	}
	return nil
}

func (a Alert) labels() map[string]string {
	l := map[string]string{"severity": string(a.Severity)}
	for k, v := range a.Labels {
		l[k] = v
	}
	return l
}

func (a Alert) annotations() map[string]string {
	an := map[string]string{"summary": a.Summary, "description": a.Description}
	if a.Runbook != "" {
		an["runbook_url"] = a.Runbook
	}
	return an
}

// PrometheusRule is the alert as a rule of a Prometheus rule file.
func (a Alert) PrometheusRule() rulefmt.Rule {
	return rulefmt.Rule{
		Alert:       a.Name,
		Expr:        a.Expr(),
		For:         model.Duration(a.For),
		Labels:      a.labels(),
		Annotations: a.annotations(),
	}
}

// uid is the Grafana rule uid: derived from the group and the alert's name
// and severity, so it stays the same from one run to the next (and within
// Grafana's 40 characters).
func (a Alert) uid(group string) string {
	return stableUID("graft-"+string(a.Severity[:4])+"-", group+"/"+a.Name+"/"+string(a.Severity))
}

// grafanaRule is the alert as a Grafana-managed rule, in the SDK's (HTTP
// API) shape: A queries Graft, B reduces each series to its last value, C
// compares B with the threshold and is the condition.
func (a Alert) grafanaRule(o Options, group string) *alerting.RuleBuilder {
	evaluator := expr.ExprTypeThresholdConditionsEvaluatorTypeGt
	if a.Op == Below {
		evaluator = expr.ExprTypeThresholdConditionsEvaluatorTypeLt
	}
	window := max(10*time.Minute, 2*o.RuleWindow)
	query := alerting.NewQueryBuilder("A").
		DatasourceUid(o.DatasourceUID).
		RelativeTimeRange(alerting.Duration(window.Seconds()), 0).
		Model(prometheus.NewDataqueryBuilder().RefId("A").Expr(a.grafanaQuery()).Instant().
			LegendFormat("__auto"))
	reduce := alerting.NewQueryBuilder("B").
		DatasourceUid(expressionDatasourceUID).
		Model(expr.NewTypeReduceBuilder().RefId("B").Expression("A").
			Reducer(expr.TypeReduceReducerLast).
			Settings(expr.NewExprTypeReduceSettingsBuilder().Mode(expr.ExprTypeReduceSettingsModeDropNN)))
	threshold := alerting.NewQueryBuilder("C").
		DatasourceUid(expressionDatasourceUID).
		Model(expr.NewTypeThresholdBuilder().RefId("C").Expression("B").
			Conditions([]cogThreshold{expr.NewExprTypeThresholdConditionsBuilder().
				Evaluator(expr.NewExprTypeThresholdConditionsEvaluatorBuilder().
					Type(evaluator).Params([]float64{a.Threshold}))}))
	return alerting.NewRuleBuilder(a.Name).
		Uid(a.uid(group)).
		RuleGroup(group).
		OrgID(o.OrgID).
		Condition("C").
		Queries([]cogQuery{query, reduce, threshold}).
		For(promDuration(a.For)).
		NoDataState(alerting.RuleNoDataStateOK).
		ExecErrState(alerting.RuleExecErrStateError).
		Labels(a.labels()).
		Annotations(grafanaAnnotations(a.annotations()))
}

// expressionDatasourceUID is Grafana's server-side expressions datasource.
const expressionDatasourceUID = "__expr__"

var promValueRef = regexp.MustCompile(`\$value\b`)

// grafanaAnnotations turns Prometheus template references into Grafana's:
// Grafana's alert templates know $labels but call the value of the query
// $values.B.Value (the reduced series) rather than $value.
func grafanaAnnotations(in map[string]string) map[string]string {
	out := make(map[string]string, len(in))
	for k, v := range in {
		out[k] = promValueRef.ReplaceAllString(v, "$$values.B.Value")
	}
	return out
}

type (
	cogThreshold = cog.Builder[expr.ExprTypeThresholdConditions]
	cogQuery     = cog.Builder[alerting.Query]
)
