package cluster

import (
	"hash/fnv"
	"slices"
	"strings"

	"github.com/grafana/dskit/ring"
)

// Status is the cluster as this instance sees it, for health checks.
type Status struct {
	InstanceID string
	// State is this instance's state in the ring (ACTIVE once registered,
	// LEAVING while it stops), or "not registered".
	State string
	// Members are the healthy members, this one included, by id.
	Members []Member
	// Unhealthy counts members that stopped heartbeating but are not
	// forgotten yet.
	Unhealthy         int
	ReplicationFactor int
	// Error says why membership failed, if it did.
	Error string
}

// Member is one healthy instance of the ring.
type Member struct {
	ID, Addr, State string
}

// Status reports membership.
func (s *Service) Status() Status {
	st := Status{InstanceID: s.cfg.InstanceID, State: "not registered", ReplicationFactor: s.cfg.ReplicationFactor}
	if err := s.FailureCase(); err != nil {
		st.Error = err.Error()
	}
	if l := s.lifecycler.Load(); l != nil && l.IsRegistered() {
		st.State = l.GetState().String()
	}
	healthy := s.healthy()
	for _, inst := range healthy {
		st.Members = append(st.Members, Member{ID: inst.Id, Addr: inst.Addr, State: inst.State.String()})
	}
	st.Unhealthy = max(0, s.ring.InstancesCount()-len(healthy))
	return st
}

// healthy lists the members heartbeating within the timeout, in any state,
// sorted by id.
func (s *Service) healthy() []ring.InstanceDesc {
	set, err := s.ring.GetAllHealthy(ring.Reporting)
	if err != nil {
		return nil // empty ring
	}
	insts := set.Instances
	slices.SortFunc(insts, func(a, b ring.InstanceDesc) int { return strings.Compare(a.Id, b.Id) })
	return insts
}

// fingerprint sums up what decides ownership: which members are healthy,
// in which state, with which tokens, and how many are not (a forgotten
// unhealthy member changes only that count).
func (s *Service) fingerprint() uint64 {
	h := fnv.New64a()
	var buf []byte
	for _, inst := range s.healthy() {
		buf = append(buf[:0], inst.Id...)
		buf = append(buf, 0, byte(inst.State))
		for _, t := range inst.Tokens {
			buf = append(buf, byte(t>>24), byte(t>>16), byte(t>>8), byte(t))
		}
		_, _ = h.Write(buf)
	}
	n := s.ring.InstancesCount()
	_, _ = h.Write([]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
	return h.Sum64()
}

// publish sets the membership gauges.
func (s *Service) publish() {
	st := s.Status()
	s.metrics.members.Reset()
	for _, m := range st.Members {
		s.metrics.members.WithLabelValues(m.State).Inc()
	}
	s.metrics.members.WithLabelValues("unhealthy").Set(float64(st.Unhealthy))
	s.metrics.self.Reset()
	s.metrics.self.WithLabelValues(st.State).Set(1)
}
