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
	"github.com/prometheus/prometheus/discovery/targetgroup"

	"github.com/graftlabs/graft/pkg/storage"
)

// Options configure a Manager.
type Options struct {
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	// UserAgent is sent with every scrape.
	UserAgent string
	// Owns, when set, shards scraping over a cluster: it says whether this
	// instance scrapes the target with the given key (labels and URL).
	// Targets it does not own are listed as dropped; when it fails, the
	// target is scraped anyway, so that an unsure ring never leaves a target
	// unmonitored. Call Resync when its answers may have changed.
	Owns func(targetKey string) (bool, error)
	// StartTimestamps reads the start timestamps targets expose for their
	// counters, histograms and summaries (OpenMetrics _created lines,
	// created timestamps of the protobuf format) and stores them with the
	// samples, where the storage keeps them (storage.StartTimestampAppender).
	StartTimestamps bool
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
	sd    *discovery.Manager
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
	m := &Manager{
		store:   store,
		opts:    opts,
		metrics: newMetrics(opts.Registerer),
		ctx:     ctx,
		stop:    cancel,
		pools:   map[string]*pool{},
	}
	m.sd = newDiscoveryManager(ctx, opts)
	go func() { _ = m.sd.Run() }()
	go m.watchDiscovery()
	return m
}

// newDiscoveryManager runs Prometheus's service discovery. Its metrics go to
// the manager's registerer, or a private registry when there is none.
func newDiscoveryManager(ctx context.Context, opts Options) *discovery.Manager {
	reg := opts.Registerer
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	sdMetrics, err := discovery.CreateAndRegisterSDMetrics(reg)
	if err != nil {
		opts.Logger.Error("Service discovery metrics not registered", "err", err)
		reg = prometheus.NewRegistry()
		sdMetrics, _ = discovery.CreateAndRegisterSDMetrics(reg)
	}
	return discovery.NewManager(ctx, opts.Logger.With("component", "discovery"), reg, sdMetrics, discovery.Name("scrape"))
}

// ApplyConfig brings the running pools in line with cfgs: new jobs start,
// removed jobs stop (their series get stale markers), changed jobs are
// rebuilt. It fails without changing anything if a job's HTTP client or
// targets cannot be built.
func (m *Manager) ApplyConfig(cfgs []*promconfig.ScrapeConfig) error {
	if err := m.applyPools(cfgs); err != nil {
		return err
	}
	// Outside the pools' lock: discovery delivers groups to watchDiscovery,
	// which takes it.
	if err := m.sd.ApplyConfig(dynamicConfigs(cfgs)); err != nil {
		m.opts.Logger.Error("Applying service discovery configuration failed", "err", err)
	}
	return nil
}

func (m *Manager) applyPools(cfgs []*promconfig.ScrapeConfig) error {
	next := map[string]*pool{}
	m.mtx.Lock()
	defer m.mtx.Unlock()
	for _, cfg := range cfgs {
		if old, ok := m.pools[cfg.JobName]; ok && reflect.DeepEqual(old.cfg, cfg) {
			next[cfg.JobName] = old
			continue
		}
		var prev []*targetgroup.Group
		if old, ok := m.pools[cfg.JobName]; ok {
			prev = old.discovered // until discovery reports the new config's groups
		}
		p, err := m.newPool(cfg, prev)
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
	m.publishOwnership()
	return nil
}

// dynamicConfigs are the service discovery configs other than static ones,
// by job: static targets are known at once, the rest comes from discovery.
func dynamicConfigs(cfgs []*promconfig.ScrapeConfig) map[string]discovery.Configs {
	out := map[string]discovery.Configs{}
	for _, cfg := range cfgs {
		for _, sd := range cfg.ServiceDiscoveryConfigs {
			if _, static := sd.(discovery.StaticConfig); !static {
				out[cfg.JobName] = append(out[cfg.JobName], sd)
			}
		}
	}
	return out
}

// watchDiscovery applies the target groups service discovery reports, per
// job, until the manager stops.
func (m *Manager) watchDiscovery() {
	for {
		select {
		case <-m.ctx.Done():
			return
		case update := <-m.sd.SyncCh():
			m.mtx.Lock()
			for job, groups := range update {
				if p, ok := m.pools[job]; ok {
					p.setDiscovered(m.ctx, m, groups)
				}
			}
			m.publishOwnership()
			m.mtx.Unlock()
		}
	}
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
	m.publishOwnership()
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

func (m *Manager) newPool(cfg *promconfig.ScrapeConfig, discovered []*targetgroup.Group) (*pool, error) {
	client, err := commonconfig.NewClientFromConfig(cfg.HTTPClientConfig, cfg.JobName)
	if err != nil {
		return nil, fmt.Errorf("http client: %w", err)
	}
	p := &pool{cfg: cfg, fetcher: newFetcher(client, cfg, m.opts.UserAgent), loops: map[string]*loop{}, discovered: discovered}
	for _, sd := range cfg.ServiceDiscoveryConfigs {
		if static, ok := sd.(discovery.StaticConfig); ok {
			p.static = append(p.static, static...)
		}
	}
	p.loops, p.dropped, p.ownership = p.desired(m)
	return p, nil
}

// DroppedTarget is a discovered target that is not scraped.
type DroppedTarget struct {
	DiscoveredLabels map[string]string
	Reason           string
}
