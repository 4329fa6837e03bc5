package api

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/graftlabs/graft/pkg/rules"
)

// RuleSource reports rule groups and alerts for /api/v1/rules and /api/v1/alerts.
type RuleSource interface {
	Groups() []*rules.Group
	Alerts() []rules.Alert
}

type ruleGroupJSON struct {
	Name           string    `json:"name"`
	File           string    `json:"file"`
	Rules          []any     `json:"rules"`
	Interval       float64   `json:"interval"`
	Limit          int       `json:"limit"`
	EvaluationTime float64   `json:"evaluationTime"`
	LastEvaluation time.Time `json:"lastEvaluation"`
}

type alertJSON struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	State       string            `json:"state"`
	ActiveAt    *time.Time        `json:"activeAt,omitempty"`
	Value       string            `json:"value"`
}

type alertingRuleJSON struct {
	State          string            `json:"state"`
	Name           string            `json:"name"`
	Query          string            `json:"query"`
	Duration       float64           `json:"duration"`
	KeepFiringFor  float64           `json:"keepFiringFor"`
	Labels         map[string]string `json:"labels"`
	Annotations    map[string]string `json:"annotations"`
	Alerts         []alertJSON       `json:"alerts"`
	Health         string            `json:"health"`
	LastError      string            `json:"lastError,omitempty"`
	EvaluationTime float64           `json:"evaluationTime"`
	LastEvaluation time.Time         `json:"lastEvaluation"`
	Type           string            `json:"type"`
}

type recordingRuleJSON struct {
	Name           string            `json:"name"`
	Query          string            `json:"query"`
	Labels         map[string]string `json:"labels"`
	Health         string            `json:"health"`
	LastError      string            `json:"lastError,omitempty"`
	EvaluationTime float64           `json:"evaluationTime"`
	LastEvaluation time.Time         `json:"lastEvaluation"`
	Type           string            `json:"type"`
}

// rulesHandler serves /api/v1/rules with Prometheus's filters: type
// (alert|record), rule_name[], rule_group[], file[].
func (a *API) rulesHandler(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeError(w, badData(err))
		return
	}
	typ := r.FormValue("type")
	if typ != "" && typ != "alert" && typ != "record" {
		writeError(w, badData(errors.New(`invalid parameter "type": must be "alert" or "record"`)))
		return
	}
	keep := func(set []string, v string) bool { return len(set) == 0 || slices.Contains(set, v) }
	groups := []ruleGroupJSON{}
	for _, g := range a.Rules.Groups() {
		if !keep(r.Form["rule_group[]"], g.Name) || !keep(r.Form["file[]"], g.File) {
			continue
		}
		last, took := g.LastEvaluation()
		gj := ruleGroupJSON{Name: g.Name, File: g.File, Rules: []any{}, Interval: g.Interval.Seconds(),
			Limit: g.Limit, EvaluationTime: took.Seconds(), LastEvaluation: last}
		for _, rule := range g.Rules {
			st := rule.Status()
			if !keep(r.Form["rule_name[]"], st.Name) ||
				(typ == "alert" && st.Kind != rules.KindAlerting) || (typ == "record" && st.Kind != rules.KindRecording) {
				continue
			}
			gj.Rules = append(gj.Rules, ruleJSON(st))
		}
		if len(gj.Rules) > 0 || (typ == "" && len(r.Form["rule_name[]"]) == 0) {
			groups = append(groups, gj)
		}
	}
	writeData(w, map[string]any{"groups": groups}, nil)
}

func ruleJSON(st rules.RuleStatus) any {
	if st.Kind == rules.KindRecording {
		return recordingRuleJSON{Name: st.Name, Query: st.Expr, Labels: st.Labels, Health: string(st.Health),
			LastError: st.LastError, EvaluationTime: st.EvalDuration.Seconds(), LastEvaluation: st.LastEvaluation, Type: "recording"}
	}
	state := rules.StateInactive
	alerts := make([]alertJSON, 0, len(st.Alerts))
	for _, al := range st.Alerts {
		state = max(state, al.State)
		alerts = append(alerts, toAlertJSON(al))
	}
	return alertingRuleJSON{State: state.String(), Name: st.Name, Query: st.Expr, Duration: st.For.Seconds(),
		KeepFiringFor: st.KeepFiringFor.Seconds(), Labels: st.Labels, Annotations: st.Annotations, Alerts: alerts,
		Health: string(st.Health), LastError: st.LastError, EvaluationTime: st.EvalDuration.Seconds(),
		LastEvaluation: st.LastEvaluation, Type: "alerting"}
}

func toAlertJSON(al rules.Alert) alertJSON {
	at := al.ActiveAt
	return alertJSON{Labels: al.Labels.Map(), Annotations: al.Annotations.Map(), State: al.State.String(),
		ActiveAt: &at, Value: strconv.FormatFloat(al.Value, 'e', -1, 64)}
}

// alertsHandler serves /api/v1/alerts: every pending and firing alert.
func (a *API) alertsHandler(w http.ResponseWriter, _ *http.Request) {
	out := []alertJSON{}
	for _, al := range a.Rules.Alerts() {
		out = append(out, toAlertJSON(al))
	}
	writeData(w, map[string]any{"alerts": out}, nil)
}
