package rules

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/graftlabs/graft/pkg/storage"
)

// Sample is one element of a rule expression's result.
type Sample struct {
	Metric labels.Labels
	F      float64
}

// QueryFunc evaluates an instant query; a scalar result comes back as one
// sample without labels.
type QueryFunc func(ctx context.Context, expr string, ts time.Time) ([]Sample, error)

// env is what groups need from their manager.
type env struct {
	query       QueryFunc
	store       storage.Appendable
	send        func(alerts []Alert)
	external    labels.Labels
	externalURL string
	resendDelay time.Duration
	metrics     *metrics
	logger      *slog.Logger
}

// Group is a rule group: rules evaluated in order, at one interval, each
// seeing the results of the rules before it.
type Group struct {
	Name        string
	File        string
	Interval    time.Duration
	QueryOffset time.Duration
	Limit       int
	Rules       []*Rule
	labels      map[string]string

	mtx          sync.Mutex
	lastEval     time.Time
	lastDuration time.Duration

	stop chan struct{}
	done chan struct{}
}

// key identifies a group across reloads.
func (g *Group) key() string { return g.File + "\x00" + g.Name }

// LastEvaluation returns when the group last ran and how long it took.
func (g *Group) LastEvaluation() (time.Time, time.Duration) {
	g.mtx.Lock()
	defer g.mtx.Unlock()
	return g.lastEval, g.lastDuration
}

// sameDefinition says whether a reload changed nothing in the group.
func (g *Group) sameDefinition(o *Group) bool {
	if g.Interval != o.Interval || g.QueryOffset != o.QueryOffset || g.Limit != o.Limit ||
		!mapsEqual(g.labels, o.labels) || len(g.Rules) != len(o.Rules) {
		return false
	}
	for i := range g.Rules {
		if !g.Rules[i].sameDefinition(o.Rules[i]) {
			return false
		}
	}
	return true
}

// adoptState takes over the alerts and written series of the unchanged
// rules of old, so that a reload neither resets pending alerts nor leaves
// series without stale markers.
func (g *Group) adoptState(old *Group) {
	byDef := map[string]*Rule{}
	for _, r := range old.Rules {
		byDef[r.Kind.String()+"\x00"+r.Name+"\x00"+r.Expr] = r
	}
	for _, r := range g.Rules {
		if o, ok := byDef[r.Kind.String()+"\x00"+r.Name+"\x00"+r.Expr]; ok {
			o.mtx.Lock()
			r.active, r.written = o.active, o.written
			o.mtx.Unlock()
		}
	}
}

// run evaluates the group at its interval until stopped. Evaluation times
// are aligned to the interval with a phase from the group's identity, so
// that many groups do not all run at once.
func (g *Group) run(e *env) {
	defer close(g.done)
	next := g.firstEval(time.Now())
	for {
		select {
		case <-g.stop:
			return
		case <-time.After(time.Until(next)):
		}
		g.Eval(context.Background(), e, next)
		next = next.Add(g.Interval)
		if now := time.Now(); next.Before(now) {
			missed := now.Sub(next)/g.Interval + 1
			e.metrics.missed.WithLabelValues(g.Name).Add(float64(missed))
			next = next.Add(missed * g.Interval)
		}
	}
}

func (g *Group) firstEval(now time.Time) time.Time {
	h := fnv.New64a()
	_, _ = h.Write([]byte(g.key()))
	interval := int64(g.Interval)
	offset := int64(h.Sum64() % uint64(interval))
	base := now.UnixNano() - now.UnixNano()%interval + offset
	if base < now.UnixNano() {
		base += interval
	}
	return time.Unix(0, base)
}

// Eval evaluates every rule once at ts.
func (g *Group) Eval(ctx context.Context, e *env, ts time.Time) {
	start := time.Now()
	// Both counters exist from the first evaluation on (failures at 0).
	evaluations, failures := e.metrics.evaluations.WithLabelValues(g.Name), e.metrics.failures.WithLabelValues(g.Name)
	for _, r := range g.Rules {
		rstart := time.Now()
		err := g.evalRule(ctx, e, r, ts)
		evaluations.Inc()
		if err != nil {
			failures.Inc()
			e.logger.Warn("Rule evaluation failed", "group", g.Name, "rule", r.Name, "err", err)
		}
		r.mtx.Lock()
		r.record(rstart, time.Since(rstart), err)
		r.mtx.Unlock()
	}
	took := time.Since(start)
	g.mtx.Lock()
	g.lastEval, g.lastDuration = start, took
	g.mtx.Unlock()
	e.metrics.lastEval.WithLabelValues(g.Name).Set(float64(ts.Unix()))
	e.metrics.duration.WithLabelValues(g.Name).Observe(took.Seconds())
}

func (g *Group) evalRule(ctx context.Context, e *env, r *Rule, ts time.Time) error {
	res, err := e.query(ctx, r.Expr, ts.Add(-g.QueryOffset))
	if err != nil {
		return fmt.Errorf("query: %w", err)
	}
	if r.Kind == KindRecording {
		return g.record(ctx, e, r, res, ts)
	}
	return g.alert(ctx, e, r, res, ts)
}

// record writes the rule's result as series named after the rule.
func (g *Group) record(ctx context.Context, e *env, r *Rule, res []Sample, ts time.Time) error {
	if g.Limit > 0 && len(res) > g.Limit {
		return g.writeSeries(ctx, e, r, nil, ts, fmt.Errorf("exceeded limit of %d with %d series", g.Limit, len(res)))
	}
	out := make([]seriesValue, 0, len(res))
	seen := map[uint64]struct{}{}
	for _, s := range res {
		lb := labels.NewBuilder(s.Metric).Set(labels.MetricName, r.Name)
		g.applyLabels(lb, r.Labels, nil)
		l := lb.Labels()
		h := l.Hash()
		if _, dup := seen[h]; dup {
			return g.writeSeries(ctx, e, r, nil, ts, errors.New("vector contains metrics with the same labelset after applying rule labels"))
		}
		seen[h] = struct{}{}
		out = append(out, seriesValue{l, s.F})
	}
	return g.writeSeries(ctx, e, r, out, ts, nil)
}

// applyLabels sets the group's labels, then the rule's (which win), each
// value expanded as a template when data is given (alerting rules).
func (g *Group) applyLabels(lb *labels.Builder, ruleLabels map[string]string, data *templateData) {
	for _, set := range []map[string]string{g.labels, ruleLabels} {
		for k, v := range set {
			if data != nil {
				v = expand(k, v, *data)
			}
			if v == "" {
				lb.Del(k)
			} else {
				lb.Set(k, v)
			}
		}
	}
}

type seriesValue struct {
	lset labels.Labels
	v    float64
}

// writeSeries appends the rule's series at ts in one transaction and ends,
// with stale markers, the series of the last evaluation that are gone. A
// failed evaluation (evalErr) ends them all, as Prometheus does.
func (g *Group) writeSeries(ctx context.Context, e *env, r *Rule, out []seriesValue, ts time.Time, evalErr error) error {
	app := e.store.Appender(ctx)
	t := ts.UnixMilli()
	now := map[uint64]labels.Labels{}
	var appendErr error
	for _, s := range out {
		if _, err := app.Append(0, s.lset, t, s.v); err != nil && !errors.Is(err, storage.ErrDuplicateSample) {
			appendErr = errors.Join(appendErr, fmt.Errorf("append %s: %w", s.lset, err))
			continue
		}
		now[s.lset.Hash()] = s.lset
	}
	r.mtx.Lock()
	prev := r.written
	r.written = now
	r.mtx.Unlock()
	stale := math.Float64frombits(value.StaleNaN)
	for h, l := range prev {
		if _, ok := now[h]; !ok {
			_, _ = app.Append(0, l, t, stale)
		}
	}
	if err := app.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return errors.Join(evalErr, appendErr)
}

// sortedAlerts returns the rule's alerts in label order (callers hold r.mtx).
func sortedAlerts(r *Rule) []*Alert {
	out := make([]*Alert, 0, len(r.active))
	for _, a := range r.active {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return labels.Compare(out[i].Labels, out[j].Labels) < 0 })
	return out
}
