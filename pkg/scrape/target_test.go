package scrape

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/storage/memstore"
)

func TestRelabelConfigsShapeTargets(t *testing.T) {
	tt := newTestTarget(t)
	yml := `scrape_configs:
  - job_name: test
    scrape_interval: 100ms
    scrape_timeout: 100ms
    params:
      module: [orig]
      keep: [k1, k2]
    static_configs:
      - targets: ["` + tt.host() + `", "drop.example:9100"]
        labels:
          env: prod
    relabel_configs:
      - source_labels: [__address__]
        regex: 'drop\..*'
        action: drop
      - target_label: team
        replacement: infra
      - source_labels: [env]
        target_label: environment
      - regex: env
        action: labeldrop
      - target_label: __param_module
        replacement: mod1
      - target_label: __param_extra
        replacement: e
      - target_label: __metrics_path__
        replacement: /probe
      - target_label: __tmp_scratch
        replacement: gone
`
	st := memstore.New()
	m := NewManager(st, Options{})
	t.Cleanup(m.Stop)
	p, err := m.newPool(loadScrapeConfigs(t, yml)[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.loops) != 1 {
		t.Fatalf("%d targets, want 1 (one dropped by relabeling)", len(p.loops))
	}
	if len(p.dropped) != 1 {
		t.Fatalf("dropped = %+v", p.dropped)
	}
	d := p.dropped[0]
	if d.DiscoveredLabels["__address__"] != "drop.example:9100" || d.DiscoveredLabels["env"] != "prod" || !strings.Contains(d.Reason, "relabel") {
		t.Fatalf("dropped target = %+v", d)
	}

	var l *loop
	for _, x := range p.loops {
		l = x
	}
	status := l.target.status()
	wantLabels := labels.FromStrings("environment", "prod", "instance", tt.host(), "job", "test", "team", "infra")
	if !labels.Equal(status.Labels, wantLabels) {
		t.Fatalf("target labels = %s, want %s", status.Labels, wantLabels)
	}
	// Discovered labels are the ones before relabeling, with the defaults.
	disc := status.DiscoveredLabels
	for name, want := range map[string]string{
		"__address__": tt.host(), "__metrics_path__": "/metrics", "__scheme__": "http",
		"__scrape_interval__": "100ms", "__scrape_timeout__": "100ms", "job": "test", "env": "prod",
		"__param_module": "orig", "__param_keep": "k1",
	} {
		if got := disc.Get(name); got != want {
			t.Errorf("discovered %s = %q, want %q (%s)", name, got, want, disc)
		}
	}
	if disc.Has("team") {
		t.Errorf("discovered labels include a relabeled one: %s", disc)
	}
	if status.Health != HealthUnknown || status.Job != "test" || status.ScrapeInterval != 100*time.Millisecond || status.ScrapeTimeout != 100*time.Millisecond {
		t.Fatalf("status = %+v", status)
	}
	if !strings.HasPrefix(status.ScrapeURL, "http://"+tt.host()+"/probe?") {
		t.Fatalf("ScrapeURL = %s", status.ScrapeURL)
	}

	// The scrape uses the relabeled path and params.
	h := &harness{t: t, store: st, target: tt, mgr: m, loop: l, base: time.Now().Add(-time.Hour).Truncate(time.Second)}
	tt.set(http.StatusOK, ctText, "m 1\n")
	ts := h.scrape(1)
	req := tt.lastRequest(t)
	if req.Path != "/probe" {
		t.Errorf("path = %q", req.Path)
	}
	if got := req.Query["module"]; !slices.Equal(got, []string{"mod1"}) {
		t.Errorf("module = %v, want the relabeled value", got)
	}
	if got := req.Query["keep"]; !slices.Equal(got, []string{"k1", "k2"}) {
		t.Errorf("keep = %v, want both configured values", got)
	}
	if got := req.Query["extra"]; !slices.Equal(got, []string{"e"}) {
		t.Errorf("extra = %v", got)
	}
	want := labels.FromStrings("__name__", "m", "environment", "prod", "instance", tt.host(), "job", "test", "team", "infra")
	if v := valueAt(t, st, want, ts); v != 1 {
		t.Fatalf("m = %v", v)
	}
}

func TestRelabelInstanceAndTimeouts(t *testing.T) {
	yml := `scrape_configs:
  - job_name: test
    scrape_interval: 1s
    scrape_timeout: 1s
    static_configs:
      - targets: ["a.example:1", "b.example:2", "c.example:3", "a.example:1"]
    relabel_configs:
      - source_labels: [__address__]
        regex: 'a\.example:1'
        target_label: instance
        replacement: named-a
      - source_labels: [__address__]
        regex: 'b\..*'
        target_label: __scrape_timeout__
        replacement: 5s
      - source_labels: [__address__]
        regex: 'c\..*'
        target_label: __scrape_interval__
        replacement: 2s
`
	m := NewManager(memstore.New(), Options{})
	t.Cleanup(m.Stop)
	p, err := m.newPool(loadScrapeConfigs(t, yml)[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	// a listed twice is one target; b has a timeout above its interval.
	if len(p.loops) != 2 {
		t.Fatalf("%d loops, want 2", len(p.loops))
	}
	byAddr := map[string]TargetStatus{}
	for _, l := range p.loops {
		s := l.target.status()
		byAddr[s.DiscoveredLabels.Get("__address__")] = s
	}
	if got := byAddr["a.example:1"].Labels.Get("instance"); got != "named-a" {
		t.Errorf("instance set by relabeling was overwritten: %q", got)
	}
	if c := byAddr["c.example:3"]; c.ScrapeInterval != 2*time.Second || c.ScrapeTimeout != time.Second {
		t.Errorf("c interval/timeout = %s/%s", c.ScrapeInterval, c.ScrapeTimeout)
	}
	if len(p.dropped) != 1 || p.dropped[0].DiscoveredLabels["__address__"] != "b.example:2" ||
		!strings.Contains(p.dropped[0].Reason, "timeout") {
		t.Fatalf("dropped = %+v", p.dropped)
	}
}
