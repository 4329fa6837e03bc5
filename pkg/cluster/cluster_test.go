package cluster

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// member is one in-process cluster member on a random loopback port.
type member struct {
	*Service
	reg     *prometheus.Registry
	changes atomic.Int32
}

func (m *member) addr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(m.kv.GetListeningPort()))
}

func testConfig(id string, rf int, join ...string) Config {
	return Config{
		InstanceID:        id,
		ListenAddress:     "127.0.0.1:0",
		Join:              join,
		ReplicationFactor: rf,
		HeartbeatPeriod:   time.Second,
		HeartbeatTimeout:  time.Minute,
		PollInterval:      50 * time.Millisecond,
	}
}

func startMember(t *testing.T, cfg Config) *member {
	t.Helper()
	m := &member{reg: prometheus.NewRegistry()}
	svc, err := New(cfg, Options{Registerer: m.reg, OnChange: func() { m.changes.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	m.Service = svc
	// The service lives as long as the context it starts with: not ctx.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := startService(ctx, svc); err != nil {
		t.Fatalf("start %s: %v", cfg.InstanceID, err)
	}
	t.Cleanup(func() { stopMember(t, m) })
	return m
}

func stopMember(t *testing.T, m *member) {
	t.Helper()
	if m.State() == services.Terminated || m.State() == services.Failed {
		return
	}
	if err := services.StopAndAwaitTerminated(context.Background(), m); err != nil {
		t.Errorf("stop %s: %v", m.cfg.InstanceID, err)
	}
}

// startCluster starts n members, each joining the first.
func startCluster(t *testing.T, n, rf int) []*member {
	t.Helper()
	ms := []*member{startMember(t, testConfig("graft-0", rf))}
	for i := 1; i < n; i++ {
		ms = append(ms, startMember(t, testConfig(fmt.Sprintf("graft-%d", i), rf, ms[0].addr())))
	}
	return ms
}

func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// activeIDs lists the ACTIVE healthy members m sees.
func activeIDs(m *member) string {
	var ids []string
	for _, mm := range m.Status().Members {
		if mm.State == "ACTIVE" {
			ids = append(ids, mm.ID)
		}
	}
	return strings.Join(ids, ",")
}

func waitMembers(t *testing.T, ms []*member, want string) {
	t.Helper()
	for _, m := range ms {
		eventually(t, 15*time.Second, m.cfg.InstanceID+" to see "+want, func() bool {
			got := activeIDs(m)
			if got != want {
				t.Logf("%s sees %s", m.cfg.InstanceID, got)
			}
			return got == want
		})
	}
}

// owners returns, for each of n keys, how many members own it, and how
// many keys each member owns.
func owners(t *testing.T, ms []*member, n int) (perKey []int, perMember map[string]int) {
	t.Helper()
	perMember = map[string]int{}
	for k := range n {
		key := fmt.Sprintf(`{instance="127.0.0.1:%d", job="e2e"}|http://127.0.0.1:%d/metrics`, 10000+k, 10000+k)
		count := 0
		for _, m := range ms {
			ok, err := m.Owns(key)
			if err != nil {
				t.Fatalf("%s: Owns: %v", m.cfg.InstanceID, err)
			}
			if ok {
				count++
				perMember[m.cfg.InstanceID]++
			}
		}
		perKey = append(perKey, count)
	}
	return perKey, perMember
}

func checkOwners(t *testing.T, ms []*member, rf int) {
	t.Helper()
	const keys = 300
	perKey, perMember := owners(t, ms, keys)
	for k, n := range perKey {
		if n != rf {
			t.Fatalf("key %d has %d owners, want %d (per member: %v)", k, n, rf, perMember)
		}
	}
	for _, m := range ms {
		// 128 random tokens each: an even share give or take; none idle.
		if perMember[m.cfg.InstanceID] == 0 {
			t.Fatalf("%s owns nothing: %v", m.cfg.InstanceID, perMember)
		}
	}
}

func TestMembersShareKeysAndTakeOverOnLeave(t *testing.T) {
	ms := startCluster(t, 3, 1)
	waitMembers(t, ms, "graft-0,graft-1,graft-2")
	checkOwners(t, ms, 1)
	eventually(t, 5*time.Second, "graft-0 told of the others joining", func() bool { return ms[0].changes.Load() > 0 })

	before := ms[0].changes.Load()
	stopMember(t, ms[2])
	if _, err := ms[2].Owns("x"); err == nil {
		t.Error("a member that left still answers Owns")
	}
	rest := ms[:2]
	waitMembers(t, rest, "graft-0,graft-1")
	checkOwners(t, rest, 1)
	eventually(t, 5*time.Second, "graft-0 told of graft-2 leaving", func() bool { return ms[0].changes.Load() > before })

	st := ms[0].Status()
	if st.InstanceID != "graft-0" || st.State != "ACTIVE" || st.Unhealthy != 0 || st.ReplicationFactor != 1 {
		t.Errorf("status = %+v", st)
	}
	if got := testutil.ToFloat64(ms[0].metrics.members.WithLabelValues("ACTIVE")); got != 2 {
		t.Errorf(`graft_cluster_members{state="ACTIVE"} = %v`, got)
	}
	if got := testutil.ToFloat64(ms[0].metrics.self.WithLabelValues("ACTIVE")); got != 1 {
		t.Errorf(`graft_cluster_instance_state{state="ACTIVE"} = %v`, got)
	}
	if n, err := testutil.GatherAndCount(ms[0].reg, "graft_ring_members"); err != nil || n == 0 {
		t.Errorf("dskit's ring metrics not registered with the graft_ prefix (%d, %v)", n, err)
	}
}

func TestReplicationFactorTwo(t *testing.T) {
	ms := startCluster(t, 3, 2)
	waitMembers(t, ms, "graft-0,graft-1,graft-2")
	checkOwners(t, ms, 2)
}

// A member that stops heartbeating without leaving (a crash) is forgotten
// after the heartbeat timeout, and its keys move to the others.
func TestCrashedMemberIsForgotten(t *testing.T) {
	fast := func(id string, join ...string) Config {
		c := testConfig(id, 1, join...)
		c.HeartbeatPeriod, c.HeartbeatTimeout = 500*time.Millisecond, 2*time.Second
		return c
	}
	a := startMember(t, fast("graft-a"))
	b := startMember(t, fast("graft-b", a.addr()))
	c := startMember(t, fast("graft-c", a.addr()))
	all := []*member{a, b, c}
	waitMembers(t, all, "graft-a,graft-b,graft-c")
	checkOwners(t, all, 1)

	// Stop c the way a crash would leave it: its ring entry stays.
	c.lifecycler.Load().SetKeepInstanceInTheRingOnShutdown(true)
	// Measured from before the stop: its last heartbeat is at most one
	// period earlier, so it cannot be forgotten before timeout - period
	// (1.5s) from here, however long stopping takes on a loaded machine.
	start := time.Now()
	stopMember(t, c)
	waitMembers(t, all[:2], "graft-a,graft-b")
	eventually(t, 10*time.Second, "graft-c forgotten", func() bool {
		return a.ring.InstancesCount() == 2 && b.ring.InstancesCount() == 2
	})
	if took := time.Since(start); took < time.Second {
		t.Errorf("crashed member forgotten after %s, before its heartbeat timeout", took)
	}
	checkOwners(t, all[:2], 1)
}

// Owns fails (and the caller scrapes everything) unless membership runs.
func TestOwnsFailsUnlessRunning(t *testing.T) {
	s, err := New(testConfig("alone", 1), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Owns("x"); err == nil || !strings.Contains(err.Error(), "New") {
		t.Fatalf("Owns on a ring never started: %v", err)
	}
	if got := testutil.ToFloat64(s.metrics.ownershipErrors); got != 1 {
		t.Fatalf("graft_cluster_ownership_errors_total = %v", got)
	}
}

func TestStartFailsOnBusyPort(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cfg := testConfig("busy", 1)
	cfg.ListenAddress = busy.Addr().String()
	s, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = services.StartAndAwaitRunning(context.Background(), s)
	if err == nil || !strings.Contains(err.Error(), busy.Addr().String()) {
		t.Fatalf("start on a busy port: %v, want an error naming the address", err)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	for name, mod := range map[string]func(*Config){
		"no instance id":  func(c *Config) { c.InstanceID = "" },
		"listen on names": func(c *Config) { c.ListenAddress = "localhost:1" },
		"short timeout":   func(c *Config) { c.HeartbeatTimeout = c.HeartbeatPeriod },
		"bad advertise":   func(c *Config) { c.AdvertiseAddress = "10.0.0.1" },
	} {
		cfg := testConfig("x", 1)
		mod(&cfg)
		if _, err := New(cfg, Options{}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
