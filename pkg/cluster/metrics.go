package cluster

import "github.com/prometheus/client_golang/prometheus"

// metrics are graft_cluster_*: membership as this instance sees it and how
// ownership questions went. dskit's own ring and memberlist metrics come
// beside them, prefixed graft_.
type metrics struct {
	members         *prometheus.GaugeVec
	self            *prometheus.GaugeVec
	changes         prometheus.Counter
	ownershipErrors prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		members: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "graft_cluster_members",
			Help: "Healthy cluster members by ring state (ACTIVE, LEAVING, ...), and members that stopped heartbeating (unhealthy).",
		}, []string{"state"}),
		self: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "graft_cluster_instance_state",
			Help: "This instance's state in the ring: 1 for the current state.",
		}, []string{"state"}),
		changes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "graft_cluster_ring_changes_total",
			Help: "Ring changes that made this instance re-evaluate which targets it owns.",
		}),
		ownershipErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "graft_cluster_ownership_errors_total",
			Help: "Ownership questions the ring could not answer (the target is then scraped here).",
		}),
	}
	reg.MustRegister(m.members, m.self, m.changes, m.ownershipErrors)
	return m
}
