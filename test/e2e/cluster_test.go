package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// clusterNode is one standalone server of a scrape cluster.
type clusterNode struct {
	id, http, gossip string
	cmd              *exec.Cmd
	logs             *syncBuffer
}

// heartbeatTimeout is long enough not to matter unless a test kills a node.
const heartbeatTimeout = 10 * time.Second

// writeClusterConfig writes a graft.yml for node id, joining the other
// gossip addresses and scraping targets every second.
func writeClusterConfig(t *testing.T, id, gossip string, join []string, rf int, timeout time.Duration, targets []string) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n")
	fmt.Fprintf(&b, "graft:\n  cluster:\n    enabled: true\n    instance_id: %s\n    listen_address: %s\n", id, gossip)
	fmt.Fprintf(&b, "    join: [%s]\n    replication_factor: %d\n    heartbeat_period: 1s\n    heartbeat_timeout: %s\n", strings.Join(join, ", "), rf, timeout)
	fmt.Fprintf(&b, "scrape_configs:\n  - job_name: sharded\n    static_configs:\n      - targets: [%s]\n", strings.Join(targets, ", "))
	path := filepath.Join(t.TempDir(), id+".yml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// startClusterNodes starts n servers, each joining all the others, one
// after the other (each waits to be ready).
func startClusterNodes(t *testing.T, n, rf int, timeout time.Duration, targets []string) []*clusterNode {
	t.Helper()
	nodes := make([]*clusterNode, n)
	for i := range nodes {
		nodes[i] = &clusterNode{id: fmt.Sprintf("graft-%d", i), gossip: freePort(t)}
	}
	for i, nd := range nodes {
		var join []string
		for j, other := range nodes {
			if j != i {
				join = append(join, other.gossip)
			}
		}
		nd.http, nd.cmd, nd.logs = startServer(t, writeClusterConfig(t, nd.id, nd.gossip, join, rf, timeout, targets))
	}
	return nodes
}

// activeTargets returns the scrape URLs a node scrapes (has scraped at
// least once successfully) per /api/v1/targets.
func activeTargets(t *testing.T, nd *clusterNode) ([]string, error) {
	t.Helper()
	resp, err := http.Get("http://" + nd.http + "/api/v1/targets?state=active")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Data struct {
			ActiveTargets []struct {
				ScrapeURL string `json:"scrapeUrl"`
				Health    string `json:"health"`
			} `json:"activeTargets"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, err
	}
	var out []string
	for _, at := range body.Data.ActiveTargets {
		if at.Health == "up" {
			out = append(out, strings.TrimSuffix(strings.TrimPrefix(at.ScrapeURL, "http://"), "/metrics"))
		}
	}
	return out, nil
}

// scrapers maps each target to the nodes scraping it.
func scrapers(t *testing.T, nodes []*clusterNode) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, nd := range nodes {
		got, err := activeTargets(t, nd)
		if err != nil {
			t.Logf("%s: %v", nd.id, err)
			return nil
		}
		for _, tg := range got {
			out[tg] = append(out[tg], nd.id)
		}
	}
	return out
}

// waitShared waits until each target is scraped by exactly rf of nodes,
// and returns how long that took.
func waitShared(t *testing.T, nodes []*clusterNode, targets []string, rf int, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	var last map[string][]string
	for {
		last = scrapers(t, nodes)
		if sharedBy(last, targets, rf) {
			return time.Since(start)
		}
		if time.Since(start) > timeout {
			t.Fatalf("after %s, targets are not each scraped by exactly %d nodes: %v", timeout, rf, last)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func sharedBy(byTarget map[string][]string, targets []string, rf int) bool {
	if len(byTarget) != len(targets) {
		return false
	}
	for _, tg := range targets {
		if len(byTarget[tg]) != rf {
			return false
		}
	}
	return true
}

// stopNode ends a node with SIGTERM, as an orchestrator would, and waits.
func stopNode(t *testing.T, nd *clusterNode) {
	t.Helper()
	if err := nd.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- nd.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s exited with %v\n%s", nd.id, err, nd.logs.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("%s did not stop within 15s", nd.id)
	}
}

func clusterTargets(t *testing.T, n int) []string {
	var out []string
	for range n {
		out = append(out, newTarget(t).hostPort())
	}
	sort.Strings(out)
	return out
}

// Three servers share nine targets: each is scraped by exactly one; when a
// server stops, the other two take its targets.
func TestClusterShardsScraping(t *testing.T) {
	targets := clusterTargets(t, 9)
	nodes := startClusterNodes(t, 3, 1, heartbeatTimeout, targets)
	took := waitShared(t, nodes, targets, 1, 20*time.Second)
	t.Logf("targets split over 3 nodes %s after the last start", took)
	byTarget := scrapers(t, nodes)
	perNode := map[string]int{}
	for _, ids := range byTarget {
		perNode[ids[0]]++
	}
	t.Logf("targets per node: %v", perNode)

	var moved []string
	for tg, ids := range byTarget {
		if ids[0] == nodes[2].id {
			moved = append(moved, tg)
		}
	}
	stopped := time.Now()
	stopNode(t, nodes[2])
	t.Logf("%s stopped in %s", nodes[2].id, time.Since(stopped))
	waitShared(t, nodes[:2], targets, 1, 15*time.Second)
	t.Logf("its %d targets scraped by the others %s after SIGTERM", len(moved), time.Since(stopped))

	// Targets that stayed kept their node.
	after := scrapers(t, nodes[:2])
	for tg, ids := range byTarget {
		if !slices.Contains(moved, tg) && after[tg][0] != ids[0] {
			t.Errorf("%s moved from %s to %s although its node stayed", tg, ids[0], after[tg][0])
		}
	}
	if !strings.Contains(nodes[2].logs.String(), "Left the scrape cluster") {
		t.Errorf("stopped node did not log leaving the cluster:\n%s", nodes[2].logs.String())
	}
}

// With replication_factor 2, each target is scraped by exactly two servers.
func TestClusterReplicationFactorTwo(t *testing.T) {
	targets := clusterTargets(t, 9)
	nodes := startClusterNodes(t, 3, 2, heartbeatTimeout, targets)
	waitShared(t, nodes, targets, 2, 20*time.Second)

	resp, err := http.Get("http://" + nodes[0].http + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`graft_cluster_members{state="ACTIVE"} 3`, `graft_cluster_targets{ownership="owned",scrape_job="sharded"}`, "graft_ring_members"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// A node killed without leaving keeps its targets until the heartbeat
// timeout; then the survivor takes them.
func TestClusterTakesOverFromCrashedNode(t *testing.T) {
	// Enough targets that the node to be killed owns some: with a few, the
	// ring may give them all to the survivor, which then has nothing to take.
	targets := clusterTargets(t, 24)
	const timeout = 3 * time.Second
	nodes := startClusterNodes(t, 2, 1, timeout, targets)
	waitShared(t, nodes, targets, 1, 20*time.Second)
	owned := 0
	for _, ids := range scrapers(t, nodes) {
		if slices.Contains(ids, nodes[1].id) {
			owned++
		}
	}
	if owned == 0 {
		t.Fatalf("the node to be killed owns none of %d targets", len(targets))
	}

	killed := time.Now()
	if err := nodes[1].cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = nodes[1].cmd.Wait()
	took := waitShared(t, nodes[:1], targets, 1, 20*time.Second)
	t.Logf("survivor scrapes everything %s after the kill", took)
	if since := time.Since(killed); since < timeout-time.Second {
		t.Errorf("targets moved %s after the kill, before the heartbeat timeout %s", since, timeout)
	}
}
