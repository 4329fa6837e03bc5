package rules

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// Series names alerting rules write, as Prometheus names them.
const (
	alertsMetric         = "ALERTS"
	alertsForStateMetric = "ALERTS_FOR_STATE"
	alertStateLabel      = "alertstate"
)

// alert advances the rule's alerts with a new result: new label sets start
// pending, pending ones fire once they have held for `for`, vanished ones
// resolve (or keep firing for keep_firing_for). It then writes ALERTS and
// ALERTS_FOR_STATE and hands the alerts due to the notifier.
func (g *Group) alert(ctx context.Context, e *env, r *Rule, res []Sample, ts time.Time) error {
	fresh, err := g.alertsOf(e, r, res, ts)
	r.mtx.Lock()
	if err != nil {
		r.active = nil // as Prometheus: a failing rule holds no alerts
	} else {
		r.advance(fresh, ts)
	}
	out := alertSeries(r, ts)
	due := r.due(ts, e.resendDelay, g.Interval)
	r.mtx.Unlock()

	werr := g.writeSeries(ctx, e, r, out, ts, nil)
	if e.send != nil && len(due) > 0 {
		e.send(due)
	}
	return errors.Join(err, werr)
}

// alertsOf turns a result into alerts keyed by label hash: the sample's
// labels without the metric name, the group's and rule's labels expanded,
// alertname, and the expanded annotations.
func (g *Group) alertsOf(e *env, r *Rule, res []Sample, ts time.Time) (map[uint64]*Alert, error) {
	fresh := make(map[uint64]*Alert, len(res))
	for _, s := range res {
		base := labels.NewBuilder(s.Metric).Del(labels.MetricName).Labels()
		data := newTemplateData(base, e.external, e.externalURL, s.F)
		lb := labels.NewBuilder(base)
		g.applyLabels(lb, r.Labels, &data)
		lb.Set(labels.AlertName, r.Name)
		lset := lb.Labels()

		ab := labels.NewScratchBuilder(len(r.Annotations))
		for k, v := range r.Annotations {
			ab.Add(k, expand(k, v, data))
		}
		ab.Sort()

		h := lset.Hash()
		if _, dup := fresh[h]; dup {
			return nil, errors.New("vector contains metrics with the same labelset after applying alert labels")
		}
		fresh[h] = &Alert{Labels: lset, Annotations: ab.Labels(), Value: s.F, State: StatePending, ActiveAt: ts}
	}
	if g.Limit > 0 && len(fresh) > g.Limit {
		return nil, fmt.Errorf("exceeded limit of %d with %d alerts", g.Limit, len(fresh))
	}
	return fresh, nil
}

// advance merges a fresh result into the rule's alerts (caller holds r.mtx).
func (r *Rule) advance(fresh map[uint64]*Alert, ts time.Time) {
	if r.active == nil {
		r.active = map[uint64]*Alert{}
	}
	for h, f := range fresh {
		if a, ok := r.active[h]; ok && a.State != StateInactive {
			a.Value, a.Annotations, a.KeepFiringSince = f.Value, f.Annotations, time.Time{}
			continue
		}
		r.active[h] = f // new, or back after resolving: pending again
	}
	for h, a := range r.active {
		if _, ok := fresh[h]; ok {
			if a.State == StatePending && ts.Sub(a.ActiveAt) >= r.For {
				a.State, a.FiredAt = StateFiring, ts
			}
			continue
		}
		r.vanished(h, a, ts)
	}
}

// vanished handles an alert whose condition no longer holds.
func (r *Rule) vanished(h uint64, a *Alert, ts time.Time) {
	if a.State == StateFiring && r.KeepFiringFor > 0 {
		if a.KeepFiringSince.IsZero() {
			a.KeepFiringSince = ts
		}
		if ts.Sub(a.KeepFiringSince) < r.KeepFiringFor {
			return
		}
	}
	switch {
	case a.State == StatePending:
		delete(r.active, h)
	case a.State == StateInactive && ts.Sub(a.ResolvedAt) > resolvedRetention:
		delete(r.active, h)
	case a.State == StateFiring:
		a.State, a.ResolvedAt = StateInactive, ts
	}
}

// alertSeries are ALERTS{alertstate=...} = 1 and ALERTS_FOR_STATE = the
// activation time in seconds, for every pending or firing alert.
func alertSeries(r *Rule, ts time.Time) []seriesValue {
	var out []seriesValue
	for _, a := range sortedAlerts(r) {
		if a.State == StateInactive {
			continue
		}
		alerts := labels.NewBuilder(a.Labels).Set(labels.MetricName, alertsMetric).Set(alertStateLabel, a.State.String()).Labels()
		forState := labels.NewBuilder(a.Labels).Set(labels.MetricName, alertsForStateMetric).Labels()
		out = append(out, seriesValue{alerts, 1}, seriesValue{forState, float64(a.ActiveAt.Unix())})
	}
	return out
}

// due returns copies of the alerts to send now and marks them sent. Firing
// alerts are valid for four resend periods, so that Alertmanager resolves
// them by itself if Graft stops.
func (r *Rule) due(ts time.Time, resendDelay, interval time.Duration) []Alert {
	var out []Alert
	for _, a := range sortedAlerts(r) {
		if !a.needsSending(ts, resendDelay) {
			continue
		}
		a.LastSentAt = ts
		a.ValidUntil = ts.Add(4 * max(resendDelay, interval))
		out = append(out, *a)
	}
	return out
}
