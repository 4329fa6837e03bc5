package core

import (
	"fmt"
	"slices"
	"strings"

	"github.com/grafana/dskit/services"

	"github.com/graftlabs/graft/pkg/cluster"
	"github.com/graftlabs/graft/pkg/remote"
	"github.com/graftlabs/graft/pkg/scrape"
)

// Health is the state of the core, as CheckHealth and /-/ready report it.
type Health struct {
	Running     bool
	TargetsUp   int
	TargetsDown int
	// TargetsUnknown have not been scraped yet.
	TargetsUnknown int
	// DownTargets names each down target with its last error.
	DownTargets []string
	Series      uint64
	Samples     uint64
	ConfigFile  string
	// ConfigError is the error of the last failed reload, if the running
	// configuration is an older one.
	ConfigError string
	Warnings    []string
	// ListenError is set when the HTTP listener could not start.
	ListenError string
	// RuleGroups is the number of rule groups evaluated; FailingRules names
	// each rule whose last evaluation failed, with the error.
	RuleGroups   int
	FailingRules []string
	// Cluster is the scrape cluster as this instance sees it (nil when
	// graft.cluster is off); TargetsElsewhere counts the targets other
	// members scrape.
	Cluster          *cluster.Status
	TargetsElsewhere int
	// RemoteWrite is the state of each remote_write endpoint.
	RemoteWrite []remote.EndpointStatus
}

// Health reports the core's state.
func (c *Core) Health() Health {
	h := Health{Running: c.State() == services.Running}
	for _, t := range c.scraper.Targets() {
		switch t.Health {
		case "up":
			h.TargetsUp++
		case "down":
			h.TargetsDown++
			h.DownTargets = append(h.DownTargets, fmt.Sprintf("%s %s: %s", t.Job, t.ScrapeURL, t.LastError))
		default:
			h.TargetsUnknown++
		}
	}
	for _, g := range c.rules.Groups() {
		h.RuleGroups++
		for _, r := range g.Rules {
			if st := r.Status(); st.LastError != "" {
				h.FailingRules = append(h.FailingRules, fmt.Sprintf("%s/%s: %s", g.Name, st.Name, st.LastError))
			}
		}
	}
	if c.cluster != nil {
		cs := c.cluster.Status()
		h.Cluster = &cs
		for _, d := range c.scraper.DroppedTargets() {
			if d.Reason == scrape.ReasonNotOwned {
				h.TargetsElsewhere++
			}
		}
	}
	h.RemoteWrite = c.remote.Status()
	st := c.store.Stats()
	h.Series, h.Samples = st.NumSeries, st.NumSamples

	c.mtx.RLock()
	h.ConfigFile = c.cfg.Source
	h.Warnings = slices.Clone(c.cfg.Warnings)
	for _, b := range c.store.CorruptBlocks() {
		h.Warnings = append(h.Warnings, fmt.Sprintf("storage block %s is corrupt and was set aside in %s: %s", b.ULID, b.Dir, b.Err))
	}
	if c.reloadErr != nil {
		h.ConfigError = c.reloadErr.Error()
	}
	c.mtx.RUnlock()
	if c.web != nil && c.web.err != nil {
		h.ListenError = c.web.err.Error()
	}
	return h
}

// Healthy says whether nothing needs attention.
func (h Health) Healthy() bool {
	return h.Running && h.TargetsDown == 0 && h.ConfigError == "" && h.ListenError == "" && h.clusterHealthy() &&
		!slices.ContainsFunc(h.RemoteWrite, func(e remote.EndpointStatus) bool { return e.Failing })
}

// clusterHealthy: no cluster, or a member in good standing.
func (h Health) clusterHealthy() bool {
	return h.Cluster == nil || h.Cluster.Error == "" && h.Cluster.State == "ACTIVE"
}

// Summary is a one-line human description of the state.
func (h Health) Summary() string {
	if !h.Running {
		return "Graft core is not running"
	}
	parts := []string{fmt.Sprintf("%d targets up, %d down", h.TargetsUp, h.TargetsDown)}
	if h.TargetsUnknown > 0 {
		parts[0] += fmt.Sprintf(", %d not scraped yet", h.TargetsUnknown)
	}
	parts = append(parts, fmt.Sprintf("%d series", h.Series))
	if h.RuleGroups > 0 {
		parts = append(parts, fmt.Sprintf("%d rule groups, %d rules failing", h.RuleGroups, len(h.FailingRules)))
	}
	if h.Cluster != nil {
		parts = append(parts, h.clusterSummary())
	}
	for _, e := range h.RemoteWrite {
		parts = append(parts, remoteSummary(e))
	}
	if h.ConfigError != "" {
		parts = append(parts, "config reload failed: "+h.ConfigError)
	}
	if h.ListenError != "" {
		parts = append(parts, "HTTP listener: "+h.ListenError)
	}
	return strings.Join(parts, "; ")
}

// clusterSummary says who this instance is in the cluster and how the
// targets are split.
func (h Health) clusterSummary() string {
	cl := h.Cluster
	s := fmt.Sprintf("cluster: %s %s, %d healthy members", cl.InstanceID, cl.State, len(cl.Members))
	if cl.Unhealthy > 0 {
		s += fmt.Sprintf(" (%d unhealthy)", cl.Unhealthy)
	}
	s += fmt.Sprintf(", %d targets scraped by other members", h.TargetsElsewhere)
	if cl.Error != "" {
		s += ", membership failed (scraping every target here): " + cl.Error
	}
	return s
}

// remoteSummary says how far one remote-write endpoint is behind and why.
func remoteSummary(e remote.EndpointStatus) string {
	s := fmt.Sprintf("remote write %s: %d samples pending, %.0fs behind", e.Name, e.PendingSamples, e.LagSeconds)
	if e.Failing {
		s += ", failing: " + e.LastError
	}
	return s
}
