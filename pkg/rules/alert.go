package rules

import (
	"sort"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// AlertState is where an alert is in its life.
type AlertState int

// The states of an alert.
const (
	StateInactive AlertState = iota
	StatePending
	StateFiring
)

func (s AlertState) String() string {
	switch s {
	case StatePending:
		return "pending"
	case StateFiring:
		return "firing"
	}
	return "inactive"
}

// Alert is one instance of an alerting rule: one label set of its result.
type Alert struct {
	Labels      labels.Labels
	Annotations labels.Labels
	Value       float64
	State       AlertState
	ActiveAt    time.Time
	FiredAt     time.Time
	ResolvedAt  time.Time
	LastSentAt  time.Time
	ValidUntil  time.Time
	// KeepFiringSince is when the condition stopped holding while
	// keep_firing_for keeps the alert firing.
	KeepFiringSince time.Time
}

// resolvedRetention is how long a resolved alert is kept (and re-sent as
// resolved) before it is forgotten, as Prometheus does.
const resolvedRetention = 15 * time.Minute

// needsSending: firing alerts are re-sent every resendDelay; a resolution
// is sent once more right away.
func (a *Alert) needsSending(ts time.Time, resendDelay time.Duration) bool {
	if a.State == StatePending {
		return false
	}
	if !a.ResolvedAt.IsZero() && a.ResolvedAt.After(a.LastSentAt) {
		return true
	}
	return !a.LastSentAt.Add(resendDelay).After(ts)
}

func sortAlerts(as []Alert) {
	sort.Slice(as, func(i, j int) bool { return labels.Compare(as[i].Labels, as[j].Labels) < 0 })
}
