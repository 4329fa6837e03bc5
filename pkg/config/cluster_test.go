package config_test

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/graftlabs/graft/pkg/config"
)

func TestClusterDefaults(t *testing.T) {
	c := load(t, "graft:\n  web:\n    listen_address: ''\n")
	cl := c.Graft.Cluster
	if cl.Enabled || cl.InstanceID != "" || cl.AdvertiseAddress != "" || len(cl.Join) != 0 {
		t.Errorf("cluster defaults = %+v", cl)
	}
	if cl.ListenAddress != "127.0.0.1:7946" || cl.ReplicationFactor != 1 ||
		cl.HeartbeatPeriod != model.Duration(5*time.Second) || cl.HeartbeatTimeout != model.Duration(time.Minute) {
		t.Errorf("cluster defaults = %+v", cl)
	}
}

func TestClusterSectionParsed(t *testing.T) {
	c := load(t, `graft:
  cluster:
    enabled: true
    instance_id: graft-1
    listen_address: 0.0.0.0:7000
    advertise_address: 10.0.0.1:7000
    join: ["10.0.0.2:7000", "dns+graft.example:7000", "dnssrv+_memberlist._tcp.graft.example"]
    replication_factor: 2
    heartbeat_period: 2s
    heartbeat_timeout: 30s
`)
	cl := c.Graft.Cluster
	want := config.ClusterConfig{
		Enabled: true, InstanceID: "graft-1", ListenAddress: "0.0.0.0:7000", AdvertiseAddress: "10.0.0.1:7000",
		Join:              []string{"10.0.0.2:7000", "dns+graft.example:7000", "dnssrv+_memberlist._tcp.graft.example"},
		ReplicationFactor: 2, HeartbeatPeriod: model.Duration(2 * time.Second), HeartbeatTimeout: model.Duration(30 * time.Second),
	}
	if cl.Enabled != want.Enabled || cl.InstanceID != want.InstanceID || cl.ListenAddress != want.ListenAddress ||
		cl.AdvertiseAddress != want.AdvertiseAddress || !slices.Equal(cl.Join, want.Join) ||
		cl.ReplicationFactor != want.ReplicationFactor || cl.HeartbeatPeriod != want.HeartbeatPeriod ||
		cl.HeartbeatTimeout != want.HeartbeatTimeout {
		t.Errorf("cluster = %+v\nwant %+v", cl, want)
	}
}

func TestClusterInstanceIDDefaultsToHostname(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Skip("no hostname here")
	}
	c := load(t, "graft:\n  cluster:\n    enabled: true\n")
	if c.Graft.Cluster.InstanceID != host {
		t.Fatalf("instance_id = %q, want the hostname %q", c.Graft.Cluster.InstanceID, host)
	}
	// A disabled cluster does not look the hostname up.
	if c := load(t, "graft:\n  cluster:\n    enabled: false\n"); c.Graft.Cluster.InstanceID != "" {
		t.Fatalf("instance_id of a disabled cluster = %q", c.Graft.Cluster.InstanceID)
	}
}

func TestClusterSectionErrors(t *testing.T) {
	for name, tc := range map[string]struct{ yml, want string }{
		"listen without port":     {"listen_address: 127.0.0.1", "graft.cluster.listen_address"},
		"listen on a name":        {"listen_address: localhost:7946", "not an IP address"},
		"listen port too big":     {"listen_address: 127.0.0.1:70000", "invalid port"},
		"advertise without port":  {"advertise_address: 10.0.0.1", "graft.cluster.advertise_address"},
		"join without port":       {"join: [10.0.0.2]", "graft.cluster.join[0]"},
		"join empty entry":        {`join: ["127.0.0.1:1", ""]`, "graft.cluster.join[1]"},
		"join unknown lookup":     {"join: [srv+x:1]", "unknown lookup"},
		"join dns without port":   {"join: [dns+graft.example]", "graft.cluster.join[0]"},
		"replication factor 0":    {"replication_factor: 0", "replication_factor must be at least 1"},
		"zero heartbeat period":   {"heartbeat_period: 0s", "heartbeat_period must be positive"},
		"timeout within a period": {"heartbeat_period: 10s\n    heartbeat_timeout: 10s", "must be longer than heartbeat_period"},
		"blank instance id":       {"enabled: true\n    instance_id: ' '", "instance_id must not be blank"},
		"unknown key":             {"replication: 2", "replication"},
		"join is a string":        {"join: 127.0.0.1:1", "line 3"},
	} {
		t.Run(name, func(t *testing.T) {
			err := loadErr(t, "graft:\n  cluster:\n    "+tc.yml+"\n")
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func TestCheckReloadable(t *testing.T) {
	base := "graft:\n  cluster:\n    enabled: true\n    instance_id: a\n"
	running := load(t, base+"scrape_configs:\n  - job_name: x\n")
	if err := config.CheckReloadable(running, load(t, base)); err != nil {
		t.Errorf("changing scrape_configs only: %v", err)
	}
	if err := config.CheckReloadable(running, load(t, base+"    join: []\n")); err != nil {
		t.Errorf("join: [] is no join: %v", err)
	}
	for name, next := range map[string]string{
		"instance id":        "graft:\n  cluster:\n    enabled: true\n    instance_id: b\n",
		"disabled":           "graft:\n  cluster:\n    enabled: false\n    instance_id: a\n",
		"replication factor": base + "    replication_factor: 2\n",
		"join":               base + "    join: [127.0.0.1:1]\n",
		"start timestamps":   base + "  start_timestamps: true\n",
	} {
		err := config.CheckReloadable(running, load(t, next))
		if err == nil || !strings.Contains(err.Error(), "restart") {
			t.Errorf("%s changed: err = %v, want a restart asked for", name, err)
		}
	}
}
