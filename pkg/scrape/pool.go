package scrape

import (
	"context"
	"fmt"

	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/discovery/targetgroup"
)

// pool holds the loops of one job: one per target of its static groups and
// of the groups service discovery last reported. The Manager's mutex guards
// every field.
type pool struct {
	cfg        *promconfig.ScrapeConfig
	fetcher    *fetcher
	static     []*targetgroup.Group
	discovered []*targetgroup.Group
	loops      map[string]*loop
	dropped    []DroppedTarget
	ownership  ownershipStats
}

// desired builds the loops the pool's target groups call for, reusing the
// running loop of every target that stays, and the targets dropped on the
// way: by relabeling, for errors, or because another cluster member owns
// them.
func (p *pool) desired(m *Manager) (map[string]*loop, []DroppedTarget, ownershipStats) {
	loops := map[string]*loop{}
	var dropped []DroppedTarget
	var owners ownershipStats
	for _, groups := range [][]*targetgroup.Group{p.static, p.discovered} {
		for _, g := range groups {
			if g == nil {
				continue
			}
			for _, tl := range g.Targets {
				t, discovered, err := targetFromGroup(p.cfg, tl, g.Labels)
				if err != nil || t == nil {
					reason := "dropped by relabeling"
					if err != nil {
						reason = err.Error()
					}
					dropped = append(dropped, DroppedTarget{DiscoveredLabels: discovered.Map(), Reason: reason})
					continue
				}
				if _, dup := loops[t.key()]; dup {
					continue
				}
				if !m.owned(t, &owners) {
					dropped = append(dropped, DroppedTarget{DiscoveredLabels: discovered.Map(), Reason: ReasonNotOwned})
					continue
				}
				if l, ok := p.loops[t.key()]; ok {
					loops[t.key()] = l
					continue
				}
				loops[t.key()] = newLoop(t, p.cfg, p.fetcher, m.store, m.metrics, m.opts, nil)
			}
		}
	}
	p.applyTargetLimit(loops)
	owners.report(m.opts.Logger, p.cfg.JobName)
	return loops, dropped, owners
}

// applyTargetLimit: as Prometheus, a job over its target_limit keeps its
// configuration, but every target fails without being scraped, saying why.
func (p *pool) applyTargetLimit(loops map[string]*loop) {
	var err error
	if limit := p.cfg.TargetLimit; limit > 0 && uint(len(loops)) > limit {
		err = fmt.Errorf("%w (number of targets: %d, limit: %d)", errTargetLimit, len(loops), limit)
	}
	for _, l := range loops {
		l.setRefused(err)
	}
}

// setDiscovered replaces the discovered groups and brings the loops in line.
func (p *pool) setDiscovered(ctx context.Context, m *Manager, groups []*targetgroup.Group) {
	p.discovered = groups
	p.sync(ctx, m)
}

// sync brings the loops in line with the target groups and ownership: new
// targets start, vanished ones (or ones now owned by another cluster
// member) stop with stale markers.
func (p *pool) sync(ctx context.Context, m *Manager) {
	next, dropped, owners := p.desired(m)
	for key, l := range p.loops {
		if _, ok := next[key]; !ok {
			l.stop(true)
		}
	}
	for key, l := range next {
		if _, ok := p.loops[key]; !ok {
			l.start(ctx)
		}
	}
	p.loops, p.dropped, p.ownership = next, dropped, owners
}

// takeOver hands the series caches of old's loops to the same targets of p,
// so that a config change does not reset staleness tracking, and stops old's
// loops; targets that exist only in old get stale markers.
func (p *pool) takeOver(old *pool) {
	for key, ol := range old.loops {
		nl, kept := p.loops[key]
		ol.stop(!kept)
		if kept {
			nl.cache = ol.cache
		}
	}
}

func (p *pool) start(ctx context.Context) {
	for _, l := range p.loops {
		l.start(ctx)
	}
}

// stop ends the loops and marks their series stale: the job is gone.
func (p *pool) stop() {
	for _, l := range p.loops {
		l.stop(true)
	}
}

// halt ends the loops without stale markers.
func (p *pool) halt() {
	for _, l := range p.loops {
		l.stop(false)
	}
}
