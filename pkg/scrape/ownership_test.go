package scrape

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/value"

	"github.com/graftlabs/graft/pkg/storage/memstore"
)

// fakeOwnership owns the targets whose key mentions one of its hosts, or
// fails every answer with err.
type fakeOwnership struct {
	mu    sync.Mutex
	hosts []string
	err   error
	calls int
}

func (f *fakeOwnership) owns(key string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return false, f.err
	}
	for _, h := range f.hosts {
		if strings.Contains(key, `instance="`+h+`"`) {
			return true, nil
		}
	}
	return false, nil
}

func (f *fakeOwnership) set(err error, hosts ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hosts, f.err = hosts, err
}

func targetHosts(m *Manager) []string {
	var out []string
	for _, s := range m.Targets() {
		out = append(out, s.Labels.Get("instance"))
	}
	return out
}

func notOwnedHosts(m *Manager) map[string]bool {
	out := map[string]bool{}
	for _, d := range m.DroppedTargets() {
		if d.Reason == ReasonNotOwned {
			out[d.DiscoveredLabels["__address__"]] = true
		}
	}
	return out
}

func clusterTargets(t *testing.T, reg *prometheus.Registry, job, ownership string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "graft_cluster_targets" {
			continue
		}
		for _, m := range mf.GetMetric() {
			lbl := map[string]string{}
			for _, l := range m.GetLabel() {
				lbl[l.GetName()] = l.GetValue()
			}
			if lbl["scrape_job"] == job && lbl["ownership"] == ownership {
				return m.GetGauge().GetValue()
			}
		}
	}
	return -1
}

// newShardedManager scrapes three fresh targets in job "job", owning the
// first one.
func newShardedManager(t *testing.T) (*Manager, *memstore.Store, *prometheus.Registry, *fakeOwnership, []*testTarget) {
	t.Helper()
	tts := []*testTarget{newTestTarget(t), newTestTarget(t), newTestTarget(t)}
	for _, tt := range tts {
		tt.set(http.StatusOK, ctText, "m 1\n")
	}
	own := &fakeOwnership{hosts: []string{tts[0].host()}}
	st := memstore.New()
	reg := prometheus.NewRegistry()
	m := NewManager(st, Options{Registerer: reg, Owns: own.owns})
	t.Cleanup(m.Stop)
	yml := scrapeConfigsYAML(jobYAML("job", "", tts[0].host(), tts[1].host(), tts[2].host()))
	if err := m.ApplyConfig(loadScrapeConfigs(t, yml)); err != nil {
		t.Fatal(err)
	}
	return m, st, reg, own, tts
}

func TestOwnershipFilterScrapesOnlyOwnedTargets(t *testing.T) {
	m, st, reg, _, tts := newShardedManager(t)
	waitScrapes(t, st, upLabels("job", tts[0]), 3)

	if got := targetHosts(m); len(got) != 1 || got[0] != tts[0].host() {
		t.Fatalf("active targets = %v, want only %s", got, tts[0].host())
	}
	if got := notOwnedHosts(m); len(got) != 2 || !got[tts[1].host()] || !got[tts[2].host()] {
		t.Fatalf("targets dropped as not owned = %v", got)
	}
	for _, tt := range tts[1:] {
		if n := len(tt.requests()); n != 0 {
			t.Errorf("target owned elsewhere was scraped %d times", n)
		}
	}
	if got := clusterTargets(t, reg, "job", "owned"); got != 1 {
		t.Errorf(`graft_cluster_targets{ownership="owned"} = %v`, got)
	}
	if got := clusterTargets(t, reg, "job", "elsewhere"); got != 2 {
		t.Errorf(`graft_cluster_targets{ownership="elsewhere"} = %v`, got)
	}
}

// When ownership changes, Resync starts the newly owned targets, stops the
// ones owned elsewhere now with stale markers, and leaves the rest running.
func TestResyncFollowsOwnership(t *testing.T) {
	m, st, _, own, tts := newShardedManager(t)
	waitScrapes(t, st, upLabels("job", tts[0]), 2)
	kept := onlyLoopOf(t, m.poolOf("job"))

	own.set(nil, tts[0].host(), tts[1].host())
	m.Resync()
	waitScrapes(t, st, upLabels("job", tts[1]), 2)
	if p := m.poolOf("job"); p.loops[kept.target.key()] != kept {
		t.Fatal("Resync restarted the loop of a target that stayed owned")
	}

	own.set(nil, tts[1].host())
	m.Resync()
	p, ok := lastSample(t, st, upLabels("job", tts[0]))
	if !ok || !value.IsStaleNaN(p.V) {
		t.Fatalf("target now owned elsewhere: last up = %v, want a stale marker", p)
	}
	n := len(tts[0].requests())
	waitScrapes(t, st, upLabels("job", tts[1]), 2)
	if got := len(tts[0].requests()); got != n {
		t.Fatalf("target owned elsewhere still scraped (%d requests, then %d)", n, got)
	}
	if got := targetHosts(m); len(got) != 1 || got[0] != tts[1].host() {
		t.Fatalf("active targets = %v", got)
	}
}

// A ring that cannot answer never leaves a target unscraped.
func TestOwnershipErrorScrapesAnyway(t *testing.T) {
	m, st, reg, own, tts := newShardedManager(t)
	own.set(errors.New("empty ring"))
	m.Resync()
	for _, tt := range tts {
		waitScrapes(t, st, upLabels("job", tt), 1)
	}
	if got := len(m.Targets()); got != 3 {
		t.Fatalf("%d active targets, want all 3", got)
	}
	if got := clusterTargets(t, reg, "job", "unknown"); got != 3 {
		t.Errorf(`graft_cluster_targets{ownership="unknown"} = %v`, got)
	}
	if len(notOwnedHosts(m)) != 0 {
		t.Errorf("targets dropped although the ring did not answer: %v", notOwnedHosts(m))
	}
}

// Without a filter every target is scraped and no ownership is published.
func TestNoOwnershipFilterScrapesEverything(t *testing.T) {
	tt1, tt2 := newTestTarget(t), newTestTarget(t)
	st := memstore.New()
	reg := prometheus.NewRegistry()
	m := NewManager(st, Options{Registerer: reg})
	t.Cleanup(m.Stop)
	if err := m.ApplyConfig(loadScrapeConfigs(t, scrapeConfigsYAML(jobYAML("job", "", tt1.host(), tt2.host())))); err != nil {
		t.Fatal(err)
	}
	m.Resync() // harmless without a filter
	if got := len(m.Targets()); got != 2 {
		t.Fatalf("%d active targets, want 2", got)
	}
	if n, err := testutil.GatherAndCount(reg, "graft_cluster_targets"); err != nil || n != 0 {
		t.Fatalf("graft_cluster_targets has %d series (%v), want none", n, err)
	}
}

// Resync after Stop starts nothing.
func TestResyncAfterStop(t *testing.T) {
	m, _, _, own, tts := newShardedManager(t)
	m.Stop()
	own.set(nil, tts[0].host(), tts[1].host(), tts[2].host())
	m.Resync()
	if got := len(m.Targets()); got != 0 {
		t.Fatalf("%d targets running after Stop", got)
	}
}
