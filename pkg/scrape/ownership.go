package scrape

import (
	"log/slog"
)

// ReasonNotOwned is the reason given for a target another cluster member
// scrapes. Like Prometheus sharding with hashmod relabeling, such targets
// show among the dropped ones.
const ReasonNotOwned = "owned by another cluster member"

// ownershipStats counts one pool's targets by what Options.Owns said.
type ownershipStats struct {
	owned, elsewhere, unknown int
	// err is the first error of the ring, for the log.
	err error
}

// owned says whether this instance scrapes t. Without an ownership filter it
// scrapes everything. When the filter cannot answer, it scrapes t: a target
// scraped twice for a while is better than one nobody scrapes.
func (m *Manager) owned(t *Target, st *ownershipStats) bool {
	if m.opts.Owns == nil {
		return true
	}
	ok, err := m.opts.Owns(t.key())
	switch {
	case err != nil:
		st.unknown++
		if st.err == nil {
			st.err = err
		}
		return true
	case ok:
		st.owned++
		return true
	default:
		st.elsewhere++
		return false
	}
}

// report logs, once per evaluation of a job rather than once per target,
// that the ring could not say who owns some targets.
func (st ownershipStats) report(logger *slog.Logger, job string) {
	if st.unknown > 0 {
		logger.Warn("Cluster ring cannot say who owns these targets; scraping them here so that none goes unmonitored",
			"job", job, "targets", st.unknown, "err", st.err)
	}
}

// Resync re-evaluates which targets this instance owns, in every job: newly
// owned targets start, targets now owned elsewhere stop with stale markers.
// Call it when cluster ownership may have changed.
func (m *Manager) Resync() {
	m.mtx.Lock()
	defer m.mtx.Unlock()
	if m.ctx.Err() != nil {
		return // stopped: loops must not start again
	}
	for _, p := range m.pools {
		p.sync(m.ctx, m)
	}
	m.publishOwnership()
}

// publishOwnership sets graft_cluster_targets from the pools. The manager's
// mutex must be held. Without an ownership filter there is nothing to say.
func (m *Manager) publishOwnership() {
	if m.opts.Owns == nil {
		return
	}
	g := m.metrics.clusterTargets
	g.Reset() // jobs that went away
	for name, p := range m.pools {
		g.WithLabelValues(name, "owned").Set(float64(p.ownership.owned))
		g.WithLabelValues(name, "elsewhere").Set(float64(p.ownership.elsewhere))
		g.WithLabelValues(name, "unknown").Set(float64(p.ownership.unknown))
	}
}
