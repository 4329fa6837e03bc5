package rules

import (
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/storage"
)

// DefaultResendDelay is how often a firing alert is sent again.
const DefaultResendDelay = time.Minute

// Options configure a Manager.
type Options struct {
	Query QueryFunc
	Store storage.Appendable
	// Notifier receives the alerts due for sending; nil sends nowhere.
	Notifier    *Notifier
	ExternalURL string
	Logger      *slog.Logger
	Registerer  prometheus.Registerer
}

// Manager runs the rule groups of the configured rule files.
type Manager struct {
	env *env

	mtx    sync.Mutex
	groups map[string]*Group
}

// NewManager returns a manager with no groups; Update loads them.
func NewManager(opts Options) *Manager {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	e := &env{
		query: opts.Query, store: opts.Store, externalURL: opts.ExternalURL,
		resendDelay: DefaultResendDelay, metrics: newMetrics(opts.Registerer), logger: opts.Logger,
	}
	if opts.Notifier != nil {
		e.send = opts.Notifier.Send
	}
	return &Manager{env: e, groups: map[string]*Group{}}
}

// Update loads the rule files matching patterns and brings the running
// groups in line: unchanged groups keep running untouched, changed ones are
// restarted keeping the state of their unchanged rules, removed ones stop.
// A file that does not load refuses the whole update and changes nothing.
func (m *Manager) Update(patterns []string, defaultInterval time.Duration, external labels.Labels) error {
	loaded, err := loadFiles(patterns)
	if err != nil {
		return fmt.Errorf("load rule files: %w", err)
	}
	m.mtx.Lock()
	defer m.mtx.Unlock()
	m.env.external = external
	next := make(map[string]*Group, len(loaded))
	for _, g := range loaded {
		if g.Interval == 0 {
			g.Interval = defaultInterval
		}
		if old, ok := m.groups[g.key()]; ok && old.sameDefinition(g) {
			next[g.key()] = old
			continue
		}
		next[g.key()] = g
	}
	for key, old := range m.groups {
		if n := next[key]; n != old {
			old.halt()
			if n != nil {
				n.adoptState(old)
			}
		}
	}
	for key, g := range next {
		if m.groups[key] != g {
			g.start(m.env)
		}
	}
	m.groups = next
	return nil
}

// Groups returns the running groups sorted by file and name.
func (m *Manager) Groups() []*Group {
	m.mtx.Lock()
	defer m.mtx.Unlock()
	out := make([]*Group, 0, len(m.groups))
	for _, g := range m.groups {
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].File != out[j].File {
			return out[i].File < out[j].File
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// Alerts returns every pending and firing alert of every alerting rule.
func (m *Manager) Alerts() []Alert {
	var out []Alert
	for _, g := range m.Groups() {
		for _, r := range g.Rules {
			out = append(out, r.Status().Alerts...)
		}
	}
	return out
}

// Stop ends every group.
func (m *Manager) Stop() {
	m.mtx.Lock()
	defer m.mtx.Unlock()
	for _, g := range m.groups {
		g.halt()
	}
	m.groups = map[string]*Group{}
}

func (g *Group) start(e *env) {
	g.stop, g.done = make(chan struct{}), make(chan struct{})
	go g.run(e)
}

// halt stops the group's loop and waits for a running evaluation to end.
func (g *Group) halt() {
	if g.stop == nil {
		return
	}
	close(g.stop)
	<-g.done
	g.stop = nil
}
