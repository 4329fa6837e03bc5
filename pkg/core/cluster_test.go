package core

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// freeAddr is a loopback address nobody listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// clusterConfig is configFor's single job over targets, with a cluster
// section.
func clusterConfig(id, listen string, join []string, targets ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "global:\n  scrape_interval: 100ms\n  scrape_timeout: 100ms\n")
	fmt.Fprintf(&b, "graft:\n  cluster:\n    enabled: true\n    instance_id: %s\n    listen_address: %s\n    heartbeat_period: 1s\n", id, listen)
	fmt.Fprintf(&b, "    join: [%s]\n", strings.Join(join, ", "))
	b.WriteString("scrape_configs:\n  - job_name: sharded\n    static_configs:\n      - targets: [")
	for i, tg := range targets {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", tg)
	}
	b.WriteString("]\n")
	return b.String()
}

func scraped(c *Core) []string {
	var out []string
	for _, t := range c.scraper.Targets() {
		out = append(out, t.Labels.Get("instance"))
	}
	return out
}

func TestClusteredCoresSplitTargets(t *testing.T) {
	// 24 targets: with two members of 128 random tokens each, the chance that
	// one owns them all is negligible (6 targets failed about 1 run in 30).
	var targets []string
	for range 24 {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "x 1") }))
		t.Cleanup(srv.Close)
		targets = append(targets, srv.Listener.Addr().String())
	}
	addrA, addrB := freeAddr(t), freeAddr(t)
	dir := t.TempDir()
	pathA, pathB := filepath.Join(dir, "a.yml"), filepath.Join(dir, "b.yml")
	writeFile(t, pathA, clusterConfig("a", addrA, nil, targets...))
	writeFile(t, pathB, clusterConfig("b", addrB, []string{addrA}, targets...))
	a := startCore(t, pathA)
	b := startCore(t, pathB)

	split := func() bool {
		sa, sb := scraped(a), scraped(b)
		all := append(slices.Clone(sa), sb...)
		slices.Sort(all)
		// Equal to the sorted targets: each scraped exactly once.
		return len(sa) > 0 && len(sb) > 0 && slices.Equal(all, sortedCopy(targets))
	}
	waitFor(t, "targets split between a and b", split)
	h := a.Health()
	if h.Cluster == nil || h.Cluster.State != "ACTIVE" || len(h.Cluster.Members) != 2 || h.TargetsElsewhere != len(scraped(b)) {
		t.Fatalf("health of a = %+v (cluster %+v)", h, h.Cluster)
	}
	if s := h.Summary(); !strings.Contains(s, "cluster: a ACTIVE, 2 healthy members") {
		t.Errorf("summary %q does not describe the cluster", s)
	}

	// b leaves: a scrapes everything.
	stopCore(t, b)
	waitFor(t, "a takes b's targets", func() bool { return len(scraped(a)) == len(targets) })
	if h := a.Health(); len(h.Cluster.Members) != 1 || h.TargetsElsewhere != 0 {
		t.Fatalf("health of a after b left: %+v", h.Cluster)
	}
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// Cluster settings apply at start only: a reload that changes them is
// refused and the running configuration stays; other changes apply.
func TestReloadRefusesClusterChange(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "x 1") }))
	defer srv.Close()
	listen := freeAddr(t)
	path := filepath.Join(t.TempDir(), "graft.yml")
	writeFile(t, path, clusterConfig("solo", listen, nil, srv.Listener.Addr().String()))
	c := startCore(t, path)
	waitFor(t, "target scraped", func() bool { return c.Health().TargetsUp == 1 })

	writeFile(t, path, clusterConfig("renamed", listen, nil, srv.Listener.Addr().String()))
	err := c.Reload()
	if err == nil || !strings.Contains(err.Error(), "restart") {
		t.Fatalf("reload changing the cluster: %v", err)
	}
	if c.Config().Graft.Cluster.InstanceID != "solo" || c.Health().ConfigError == "" {
		t.Fatalf("running config replaced or error not reported: %+v", c.Health())
	}

	writeFile(t, path, clusterConfig("solo", listen, nil, srv.Listener.Addr().String(), "127.0.0.1:1"))
	if err := c.Reload(); err != nil {
		t.Fatalf("reload changing only targets: %v", err)
	}
	if h := c.Health(); h.ConfigError != "" || h.Cluster == nil || h.Cluster.InstanceID != "solo" {
		t.Fatalf("health after good reload: %+v", h)
	}
}

func stopCore(t *testing.T, c *Core) {
	t.Helper()
	c.StopAsync()
	done := make(chan error, 1)
	go func() { done <- c.AwaitTerminated(t.Context()) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("stop: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("core did not stop")
	}
}
