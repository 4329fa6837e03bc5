package rules

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	promconfig "github.com/prometheus/prometheus/config"

	"github.com/graftlabs/graft/pkg/promql"
	"github.com/graftlabs/graft/pkg/storage"
	"github.com/graftlabs/graft/pkg/storage/memstore"
)

// fixture is a memstore with a real engine behind the rules' QueryFunc.
type fixture struct {
	t      *testing.T
	store  *memstore.Store
	engine *promql.Engine
	sent   []Alert
	mtx    sync.Mutex
}

func newFixture(t *testing.T) *fixture {
	return &fixture{t: t, store: memstore.New(), engine: promql.NewEngine(promql.EngineOpts{})}
}

func (f *fixture) query(ctx context.Context, expr string, ts time.Time) ([]Sample, error) {
	res, err := f.engine.Instant(ctx, f.store, expr, ts)
	if err != nil {
		return nil, err
	}
	switch v := res.Value.(type) {
	case promql.Vector:
		out := make([]Sample, len(v))
		for i, s := range v {
			out[i] = Sample{Metric: s.Metric, F: s.F}
		}
		return out, nil
	case promql.Scalar:
		return []Sample{{Metric: labels.EmptyLabels(), F: v.V}}, nil
	}
	return nil, nil
}

func (f *fixture) env() *env {
	return &env{
		query: f.query, store: f.store, resendDelay: time.Minute, metrics: newMetrics(nil),
		logger: discardLogger(), external: labels.FromStrings("cluster", "eu1"),
		send: func(as []Alert) { f.mtx.Lock(); f.sent = append(f.sent, as...); f.mtx.Unlock() },
	}
}

func (f *fixture) add(ts time.Time, v float64, kv ...string) {
	f.t.Helper()
	app := f.store.Appender(context.Background())
	if _, err := app.Append(0, labels.FromStrings(kv...), ts.UnixMilli(), v); err != nil {
		f.t.Fatal(err)
	}
	if err := app.Commit(); err != nil {
		f.t.Fatal(err)
	}
}

// valueAt returns the sample of the series at exactly ts.
func (f *fixture) valueAt(ts time.Time, kv ...string) (float64, bool) {
	f.t.Helper()
	q, _ := f.store.Querier(ts.UnixMilli(), ts.UnixMilli())
	var ms []*labels.Matcher
	for i := 0; i < len(kv); i += 2 {
		ms = append(ms, labels.MustNewMatcher(labels.MatchEqual, kv[i], kv[i+1]))
	}
	ss := q.Select(context.Background(), nil, ms...)
	for ss.Next() {
		it := ss.At().Iterator(nil)
		if it.Next() == storage.ValFloat {
			_, v := it.At()
			return v, true
		}
	}
	return 0, false
}

func writeRules(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "rules.yml")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func loadGroup(t *testing.T, content string) *Group {
	t.Helper()
	gs, err := loadFiles([]string{writeRules(t, content)})
	if err != nil {
		t.Fatal(err)
	}
	if len(gs) != 1 {
		t.Fatalf("%d groups", len(gs))
	}
	if gs[0].Interval == 0 {
		gs[0].Interval = 15 * time.Second
	}
	return gs[0]
}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestRecordingRuleWritesAndEndsSeries(t *testing.T) {
	f := newFixture(t)
	f.add(t0, 10, "__name__", "reqs", "job", "a", "path", "/x")
	f.add(t0, 20, "__name__", "reqs", "job", "a", "path", "/y")
	g := loadGroup(t, `groups:
  - name: rec
    labels: {team: core}
    rules:
      - record: job:reqs:sum
        expr: sum by (job) (reqs)
        labels: {source: rule}
      - record: job:reqs:double
        expr: job:reqs:sum * 2
`)
	e := f.env()
	g.Eval(context.Background(), e, t0)
	if v, ok := f.valueAt(t0, "__name__", "job:reqs:sum", "job", "a", "team", "core", "source", "rule"); !ok || v != 30 {
		t.Fatalf("recorded sum = %v %v", v, ok)
	}
	// Later rules of a group see the results of earlier ones.
	if v, ok := f.valueAt(t0, "__name__", "job:reqs:double"); !ok || v != 60 {
		t.Fatalf("rule reading a recorded series = %v %v", v, ok)
	}
	if st := g.Rules[0].Status(); st.Health != HealthGood {
		t.Errorf("health %v %s", st.Health, st.LastError)
	}

	// The source series go stale: the recorded series ends with a stale marker.
	stale := math.Float64frombits(value.StaleNaN)
	t1 := t0.Add(15 * time.Second)
	f.add(t1, stale, "__name__", "reqs", "job", "a", "path", "/x")
	f.add(t1, stale, "__name__", "reqs", "job", "a", "path", "/y")
	g.Eval(context.Background(), e, t1)
	if v, ok := f.valueAt(t1, "__name__", "job:reqs:sum"); !ok || !value.IsStaleNaN(v) {
		t.Fatalf("vanished recorded series not marked stale: %v %v", v, ok)
	}
}

func TestRecordingRuleErrors(t *testing.T) {
	f := newFixture(t)
	f.add(t0, 1, "__name__", "x", "a", "1")
	f.add(t0, 2, "__name__", "x", "a", "2")
	g := loadGroup(t, `groups:
  - name: bad
    limit: 1
    rules:
      - record: too_many
        expr: x
      - record: clash
        expr: x
        labels: {a: same}
      - record: broken
        expr: x + on() x
`)
	g.Limit = 1
	g.Eval(context.Background(), f.env(), t0)
	for i, want := range []string{"exceeded limit of 1", "exceeded limit of 1", "query"} {
		st := g.Rules[i].Status()
		if st.Health != HealthBad || !strings.Contains(st.LastError, want) {
			t.Errorf("rule %s: %v %q, want error with %q", st.Name, st.Health, st.LastError, want)
		}
	}
	g.Limit = 0
	g.Eval(context.Background(), f.env(), t0.Add(time.Second))
	if st := g.Rules[1].Status(); !strings.Contains(st.LastError, "same labelset") {
		t.Errorf("duplicate labelset: %q", st.LastError)
	}
}

func TestAlertLifecycle(t *testing.T) {
	f := newFixture(t)
	g := loadGroup(t, `groups:
  - name: alerts
    rules:
      - alert: TooHot
        expr: temp > 30
        for: 30s
        labels: {severity: "{{ if gt $value 40.0 }}critical{{ else }}warning{{ end }}"}
        annotations:
          summary: "{{ $labels.room }} is at {{ $value }} degrees in {{ $externalLabels.cluster }}"
`)
	e := f.env()
	step := func(i int, v float64) time.Time {
		ts := t0.Add(time.Duration(i) * 15 * time.Second)
		f.add(ts, v, "__name__", "temp", "room", "lab")
		g.Eval(context.Background(), e, ts)
		return ts
	}
	alertsOf := func() []Alert { return g.Rules[0].Status().Alerts }

	ts := step(0, 35) // pending
	if as := alertsOf(); len(as) != 1 || as[0].State != StatePending {
		t.Fatalf("after first eval: %+v", as)
	}
	if v, ok := f.valueAt(ts, "__name__", "ALERTS", "alertname", "TooHot", "alertstate", "pending", "room", "lab", "severity", "warning"); !ok || v != 1 {
		t.Fatalf("ALERTS pending = %v %v", v, ok)
	}
	if v, ok := f.valueAt(ts, "__name__", "ALERTS_FOR_STATE", "alertname", "TooHot"); !ok || v != float64(t0.Unix()) {
		t.Fatalf("ALERTS_FOR_STATE = %v %v", v, ok)
	}
	if len(f.sent) != 0 {
		t.Fatalf("pending alert sent: %+v", f.sent)
	}
	step(1, 36)
	ts = step(2, 37) // held 30s: firing
	as := alertsOf()
	if len(as) != 1 || as[0].State != StateFiring || !as[0].FiredAt.Equal(ts) {
		t.Fatalf("after 30s: %+v", as)
	}
	if got := as[0].Annotations.Get("summary"); got != "lab is at 37 degrees in eu1" {
		t.Errorf("summary = %q", got)
	}
	if len(f.sent) != 1 || f.sent[0].State != StateFiring {
		t.Fatalf("firing alert not sent once: %+v", f.sent)
	}
	if _, ok := f.valueAt(ts, "__name__", "ALERTS", "alertstate", "firing"); !ok {
		t.Fatal("ALERTS firing missing")
	}
	if v, _ := f.valueAt(ts, "__name__", "ALERTS", "alertstate", "pending"); !value.IsStaleNaN(v) {
		t.Fatalf("ALERTS pending not ended when firing: %v", v)
	}
	// A label template changes with the value: a new alert (pending) and the
	// old one resolves.
	step(3, 45)
	states := map[string]AlertState{}
	for _, a := range g.Rules[0].active {
		states[a.Labels.Get("severity")] = a.State
	}
	if states["critical"] != StatePending || states["warning"] != StateInactive {
		t.Fatalf("states after severity change: %v", states)
	}
	// Re-sent as resolved at once.
	last := f.sent[len(f.sent)-1]
	if last.State != StateInactive || last.Labels.Get("severity") != "warning" {
		t.Fatalf("resolution not sent: %+v", last)
	}
}

func TestKeepFiringFor(t *testing.T) {
	f := newFixture(t)
	g := loadGroup(t, `groups:
  - name: g
    rules:
      - alert: Flappy
        expr: up == 0
        keep_firing_for: 1m
`)
	e := f.env()
	f.add(t0, 0, "__name__", "up", "job", "x")
	g.Eval(context.Background(), e, t0)
	if as := g.Rules[0].Status().Alerts; len(as) != 1 || as[0].State != StateFiring {
		t.Fatalf("for 0 fires at once: %+v", as)
	}
	t1 := t0.Add(15 * time.Second)
	f.add(t1, 1, "__name__", "up", "job", "x")
	g.Eval(context.Background(), e, t1)
	if as := g.Rules[0].Status().Alerts; len(as) != 1 || as[0].State != StateFiring {
		t.Fatalf("keep_firing_for: %+v", as)
	}
	t2 := t0.Add(90 * time.Second)
	f.add(t2, 1, "__name__", "up", "job", "x")
	g.Eval(context.Background(), e, t2)
	if as := g.Rules[0].Status().Alerts; len(as) != 0 {
		t.Fatalf("still firing after keep_firing_for: %+v", as)
	}
}

func TestRuleFileValidation(t *testing.T) {
	for name, content := range map[string]string{
		"both kinds":    "groups: [{name: g, rules: [{record: a, alert: b, expr: up}]}]",
		"neither":       "groups: [{name: g, rules: [{expr: up}]}]",
		"bad expr":      "groups: [{name: g, rules: [{record: a, expr: 'sum('}]}]",
		"string expr":   `groups: [{name: g, rules: [{record: a, expr: '"s"'}]}]`,
		"for on record": "groups: [{name: g, rules: [{record: a, expr: up, for: 1m}]}]",
		"bad template":  "groups: [{name: g, rules: [{alert: A, expr: up, annotations: {s: '{{ .Nope '}}]}]",
		"dup group":     "groups: [{name: g, rules: []}, {name: g, rules: []}]",
		"unknown field": "groups: [{name: g, rulez: []}]",
		"metric label":  "groups: [{name: g, rules: [{record: a, expr: up, labels: {__name__: x}}]}]",
	} {
		if _, err := loadFiles([]string{writeRules(t, content)}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if gs, err := loadFiles([]string{writeRules(t, "")}); err != nil || len(gs) != 0 {
		t.Errorf("empty file: %v %v", gs, err)
	}
}

func TestManagerUpdate(t *testing.T) {
	f := newFixture(t)
	m := NewManager(Options{Query: f.query, Store: f.store})
	defer m.Stop()
	path := writeRules(t, "groups: [{name: a, rules: [{record: r1, expr: vector(1)}]}, {name: b, rules: [{record: r2, expr: vector(2)}]}]")
	if err := m.Update([]string{path}, time.Hour, labels.EmptyLabels()); err != nil {
		t.Fatal(err)
	}
	before := m.Groups()
	if len(before) != 2 {
		t.Fatalf("%d groups", len(before))
	}
	// Change b only: a keeps running as the same group.
	if err := os.WriteFile(path, []byte("groups: [{name: a, rules: [{record: r1, expr: vector(1)}]}, {name: b, rules: [{record: r2, expr: vector(3)}]}]"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := m.Update([]string{path}, time.Hour, labels.EmptyLabels()); err != nil {
		t.Fatal(err)
	}
	after := m.Groups()
	if after[0] != before[0] || after[1] == before[1] {
		t.Fatal("unchanged group restarted or changed group kept")
	}
	// A broken file changes nothing.
	if err := os.WriteFile(path, []byte("groups: [{name: a, rules: [{record: r1, expr: 'sum('}]}]"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := m.Update([]string{path}, time.Hour, labels.EmptyLabels()); err == nil {
		t.Fatal("broken rule file accepted")
	}
	if got := m.Groups(); len(got) != 2 || got[1] != after[1] {
		t.Fatal("refused update changed the groups")
	}
}

func TestNotifierPostsV2Alerts(t *testing.T) {
	var mtx sync.Mutex
	var got []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/prefix/api/v2/alerts" || r.Method != http.MethodPost {
			http.Error(w, "wrong endpoint "+r.Method+" "+r.URL.Path, http.StatusNotFound)
			return
		}
		b, _ := io.ReadAll(r.Body)
		var batch []map[string]any
		_ = json.Unmarshal(b, &batch)
		mtx.Lock()
		got = append(got, batch...)
		mtx.Unlock()
	}))
	defer srv.Close()
	cfg, err := promconfig.Load(`global:
  external_labels: {cluster: eu1}
alerting:
  alert_relabel_configs:
    - source_labels: [drop]
      regex: "yes"
      action: drop
  alertmanagers:
    - path_prefix: /prefix
      static_configs:
        - targets: ["`+strings.TrimPrefix(srv.URL, "http://")+`"]
`, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	n := NewNotifier(nil, nil)
	defer n.Stop()
	if err := n.ApplyConfig(cfg); err != nil {
		t.Fatal(err)
	}
	fired := t0.Add(time.Minute)
	n.Send([]Alert{
		{Labels: labels.FromStrings("alertname", "A", "cluster", "own"), Annotations: labels.FromStrings("summary", "s"),
			State: StateFiring, FiredAt: fired, ValidUntil: fired.Add(4 * time.Minute)},
		{Labels: labels.FromStrings("alertname", "B"), State: StateInactive, FiredAt: fired, ResolvedAt: fired.Add(time.Minute)},
		{Labels: labels.FromStrings("alertname", "C", "drop", "yes"), State: StateFiring, FiredAt: fired},
	})
	deadline := time.Now().Add(5 * time.Second)
	for {
		mtx.Lock()
		n := len(got)
		mtx.Unlock()
		if n >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("alertmanager got %d alerts", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	mtx.Lock()
	defer mtx.Unlock()
	if len(got) != 2 {
		t.Fatalf("relabeling did not drop C: %v", got)
	}
	a := got[0]["labels"].(map[string]any)
	if a["cluster"] != "own" {
		t.Errorf("external label overrode the alert's own: %v", a)
	}
	if got[1]["labels"].(map[string]any)["cluster"] != "eu1" {
		t.Errorf("external label missing: %v", got[1])
	}
	if got[1]["endsAt"] != fired.Add(time.Minute).Format(time.RFC3339) {
		t.Errorf("resolved alert endsAt = %v", got[1]["endsAt"])
	}
}
