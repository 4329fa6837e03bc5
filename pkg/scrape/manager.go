// Package scrape collects samples from Prometheus and OpenMetrics targets: a
// pool of loops per job, each loop fetching one target at its interval,
// parsing with Prometheus's textparse, relabeling, appending to storage and
// writing stale markers for series that disappear.
package scrape

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"sort"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	commonconfig "github.com/prometheus/common/config"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/discovery"

	"github.com/graftlabs/graft/pkg/storage"
)

// Options configure a Manager.
type Options struct {
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	// UserAgent is sent with every scrape.
	UserAgent string
}

// Manager runs one pool of scrape loops per job and applies new
// configurations without interrupting targets that did not change.
type Manager struct {
	store   storage.Appendable
	opts    Options
	metrics *metrics

	mtx   sync.Mutex
	ctx   context.Context
	stop  context.CancelFunc
	pools map[string]*pool
}

// NewManager returns a manager that appends to store. It scrapes nothing
// until ApplyConfig is called.
func NewManager(store storage.Appendable, opts Options) *Manager {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "Graft"
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Manager{
		store:   store,
		opts:    opts,
		metrics: newMetrics(opts.Registerer),
		ctx:     ctx,
		stop:    cancel,
		pools:   map[string]*pool{},
	}
}

// ApplyConfig brings the running pools in line with cfgs: new jobs start,
// removed jobs stop (their series get stale markers), changed jobs are
// rebuilt. It fails without changing anything if a job's HTTP client or
// targets cannot be built.
func (m *Manager) ApplyConfig(cfgs []*promconfig.ScrapeConfig) error {
	next := map[string]*pool{}
	m.mtx.Lock()
	defer m.mtx.Unlock()
	for _, cfg := range cfgs {
		if old, ok := m.pools[cfg.JobName]; ok && reflect.DeepEqual(old.cfg, cfg) {
			next[cfg.JobName] = old
			continue
		}
		p, err := m.newPool(cfg)
		if err != nil {
			return fmt.Errorf("job %q: %w", cfg.JobName, err)
		}
		next[cfg.JobName] = p
	}
	for name, old := range m.pools {
		if n, ok := next[name]; !ok {
			old.stop()
		} else if n != old {
			n.takeOver(old)
		}
	}
	for name, p := range next {
		if _, ok := m.pools[name]; !ok || m.pools[name] != p {
			p.start(m.ctx)
		}
	}
	m.pools = next
	return nil
}

// Stop ends every loop. Series are not marked stale: the process is going
// away, not the targets.
func (m *Manager) Stop() {
	m.mtx.Lock()
	defer m.mtx.Unlock()
	m.stop()
	for _, p := range m.pools {
		p.halt()
	}
	m.pools = map[string]*pool{}
}

// Targets returns the status of every active target, sorted by job and URL.
func (m *Manager) Targets() []TargetStatus {
	m.mtx.Lock()
	var out []TargetStatus
	for _, p := range m.pools {
		for _, l := range p.loops {
			out = append(out, l.target.status())
		}
	}
	m.mtx.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Job != out[j].Job {
			return out[i].Job < out[j].Job
		}
		return out[i].ScrapeURL < out[j].ScrapeURL
	})
	return out
}

// DroppedTargets returns the discovered labels of targets that relabeling
// dropped or that could not be built, with the reason.
func (m *Manager) DroppedTargets() []DroppedTarget {
	m.mtx.Lock()
	defer m.mtx.Unlock()
	var out []DroppedTarget
	for _, p := range m.pools {
		out = append(out, p.dropped...)
	}
	return out
}

func (m *Manager) newPool(cfg *promconfig.ScrapeConfig) (*pool, error) {
	client, err := commonconfig.NewClientFromConfig(cfg.HTTPClientConfig, cfg.JobName)
	if err != nil {
		return nil, fmt.Errorf("http client: %w", err)
	}
	p := &pool{cfg: cfg, loops: map[string]*loop{}}
	f := newFetcher(client, cfg, m.opts.UserAgent)
	for _, sd := range cfg.ServiceDiscoveryConfigs {
		static, ok := sd.(discovery.StaticConfig)
		if !ok {
			continue // reported as a config warning
		}
		if err := p.addStatic(static, f, m); err != nil {
			return nil, err
		}
	}
	// As Prometheus: a job over its target_limit keeps its configuration, but
	// every target fails without being scraped, saying why.
	if limit := cfg.TargetLimit; limit > 0 && uint(len(p.loops)) > limit {
		err := fmt.Errorf("%w (number of targets: %d, limit: %d)", errTargetLimit, len(p.loops), limit)
		for _, l := range p.loops {
			l.refused = err
		}
	}
	return p, nil
}

// DroppedTarget is a discovered target that is not scraped.
type DroppedTarget struct {
	DiscoveredLabels map[string]string
	Reason           string
}

// pool holds the loops of one job.
type pool struct {
	cfg     *promconfig.ScrapeConfig
	loops   map[string]*loop
	dropped []DroppedTarget
}

func (p *pool) addStatic(groups discovery.StaticConfig, f *fetcher, m *Manager) error {
	for _, g := range groups {
		for _, tl := range g.Targets {
			t, discovered, err := targetFromGroup(p.cfg, tl, g.Labels)
			if err != nil || t == nil {
				reason := "dropped by relabeling"
				if err != nil {
					reason = err.Error()
				}
				p.dropped = append(p.dropped, DroppedTarget{DiscoveredLabels: discovered.Map(), Reason: reason})
				continue
			}
			if _, dup := p.loops[t.key()]; dup {
				continue
			}
			p.loops[t.key()] = newLoop(t, p.cfg, f, m.store, m.metrics, m.opts.Logger, nil)
		}
	}
	return nil
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
