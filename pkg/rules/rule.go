// Package rules evaluates Prometheus recording and alerting rule groups
// over Graft's engine and storage: recording rules write their results back
// as series, alerting rules keep Prometheus's pending/firing state machine,
// write ALERTS and ALERTS_FOR_STATE, and hand alerts to the notifier, which
// sends them to Alertmanager.
package rules

import (
	"sync"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// Kind tells recording and alerting rules apart.
type Kind int

// The kinds of rules.
const (
	KindRecording Kind = iota
	KindAlerting
)

func (k Kind) String() string {
	if k == KindAlerting {
		return "alerting"
	}
	return "recording"
}

// Health is the outcome of a rule's last evaluation.
type Health string

// Rule health values, as the rules API reports them.
const (
	HealthUnknown Health = "unknown"
	HealthGood    Health = "ok"
	HealthBad     Health = "err"
)

// Rule is one recording or alerting rule of a group, with the outcome of
// its last evaluation.
type Rule struct {
	Name          string // recorded metric or alert name
	Kind          Kind
	Expr          string
	For           time.Duration
	KeepFiringFor time.Duration
	Labels        map[string]string
	Annotations   map[string]string

	mtx          sync.Mutex
	health       Health
	lastError    error
	lastEval     time.Time
	evalDuration time.Duration
	// active are the alerts of an alerting rule by label hash.
	active map[uint64]*Alert
	// written are the series the last evaluation wrote (recorded series,
	// or ALERTS/ALERTS_FOR_STATE), so that vanished ones get stale markers.
	written map[uint64]labels.Labels
}

// RuleStatus is a snapshot of a rule for the API.
type RuleStatus struct {
	Name           string
	Kind           Kind
	Expr           string
	For            time.Duration
	KeepFiringFor  time.Duration
	Labels         map[string]string
	Annotations    map[string]string
	Health         Health
	LastError      string
	LastEvaluation time.Time
	EvalDuration   time.Duration
	Alerts         []Alert
}

// Status returns a snapshot of the rule.
func (r *Rule) Status() RuleStatus {
	r.mtx.Lock()
	defer r.mtx.Unlock()
	s := RuleStatus{
		Name: r.Name, Kind: r.Kind, Expr: r.Expr, For: r.For, KeepFiringFor: r.KeepFiringFor,
		Labels: r.Labels, Annotations: r.Annotations, Health: r.health,
		LastEvaluation: r.lastEval, EvalDuration: r.evalDuration,
	}
	if s.Health == "" {
		s.Health = HealthUnknown
	}
	if r.lastError != nil {
		s.LastError = r.lastError.Error()
	}
	for _, a := range r.active {
		if a.State != StateInactive {
			s.Alerts = append(s.Alerts, *a)
		}
	}
	sortAlerts(s.Alerts)
	return s
}

func (r *Rule) record(start time.Time, took time.Duration, err error) {
	r.lastEval, r.evalDuration, r.lastError = start, took, err
	r.health = HealthGood
	if err != nil {
		r.health = HealthBad
	}
}

// sameDefinition says whether two rules are the same rule, so that a reload
// keeps the state (pending alerts, written series) of unchanged rules.
func (r *Rule) sameDefinition(o *Rule) bool {
	return r.Name == o.Name && r.Kind == o.Kind && r.Expr == o.Expr && r.For == o.For &&
		r.KeepFiringFor == o.KeepFiringFor && mapsEqual(r.Labels, o.Labels) && mapsEqual(r.Annotations, o.Annotations)
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
