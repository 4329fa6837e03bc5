package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// ClusterConfig is graft.cluster: scrape sharding over several Graft
// instances that find each other over memberlist and split the targets with
// a hash ring. Off by default: a single Graft scrapes everything.
type ClusterConfig struct {
	Enabled bool `yaml:"enabled"`
	// InstanceID names this instance in the ring; empty means the hostname.
	// Every member needs its own.
	InstanceID string `yaml:"instance_id"`
	// ListenAddress is the ip:port memberlist binds to.
	ListenAddress string `yaml:"listen_address"`
	// AdvertiseAddress is the ip:port other members reach this one on;
	// empty means the listen address.
	AdvertiseAddress string `yaml:"advertise_address"`
	// Join lists members to join at start (host:port, or dns+host:port,
	// dnssrv+name, dnssrvnoa+name to resolve them through DNS).
	Join []string `yaml:"join"`
	// ReplicationFactor is how many members scrape each target.
	ReplicationFactor int `yaml:"replication_factor"`
	// HeartbeatPeriod is how often this instance refreshes its ring entry;
	// HeartbeatTimeout is how long a silent member keeps its targets.
	HeartbeatPeriod  model.Duration `yaml:"heartbeat_period"`
	HeartbeatTimeout model.Duration `yaml:"heartbeat_timeout"`
}

// Cluster defaults.
const (
	DefaultClusterListenAddress = "127.0.0.1:7946"
	DefaultHeartbeatPeriod      = model.Duration(5 * time.Second)
	DefaultHeartbeatTimeout     = model.Duration(time.Minute)
)

func defaultClusterConfig() ClusterConfig {
	return ClusterConfig{
		ListenAddress:     DefaultClusterListenAddress,
		ReplicationFactor: 1,
		HeartbeatPeriod:   DefaultHeartbeatPeriod,
		HeartbeatTimeout:  DefaultHeartbeatTimeout,
	}
}

// resolve fills the defaults that depend on the machine: the instance id of
// an enabled cluster is the hostname unless set.
func (c *ClusterConfig) resolve() error {
	if !c.Enabled || c.InstanceID != "" {
		return nil
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		return fmt.Errorf("graft.cluster.instance_id is empty and the hostname is unknown (%v): set it", err)
	}
	c.InstanceID = host
	return nil
}

// validate checks the section even when the cluster is disabled, so that a
// mistake shows up when the file is written, not when clustering is turned on.
func (c ClusterConfig) validate() error {
	if c.Enabled && strings.TrimSpace(c.InstanceID) == "" {
		return errors.New("graft.cluster.instance_id must not be blank")
	}
	if err := checkIPPort(c.ListenAddress); err != nil {
		return fmt.Errorf("graft.cluster.listen_address %q: %w", c.ListenAddress, err)
	}
	if c.AdvertiseAddress != "" {
		if err := checkIPPort(c.AdvertiseAddress); err != nil {
			return fmt.Errorf("graft.cluster.advertise_address %q: %w", c.AdvertiseAddress, err)
		}
	}
	for i, m := range c.Join {
		if err := checkJoinAddress(m); err != nil {
			return fmt.Errorf("graft.cluster.join[%d] %q: %w", i, m, err)
		}
	}
	if c.ReplicationFactor < 1 {
		return fmt.Errorf("graft.cluster.replication_factor must be at least 1, got %d", c.ReplicationFactor)
	}
	if c.HeartbeatPeriod <= 0 {
		return fmt.Errorf("graft.cluster.heartbeat_period must be positive, got %s", c.HeartbeatPeriod)
	}
	// A timeout within one period would declare healthy members dead
	// between two of their heartbeats.
	if c.HeartbeatTimeout <= c.HeartbeatPeriod {
		return fmt.Errorf("graft.cluster.heartbeat_timeout (%s) must be longer than heartbeat_period (%s)", c.HeartbeatTimeout, c.HeartbeatPeriod)
	}
	return nil
}

// checkIPPort accepts ip:port: memberlist binds to and advertises IP
// addresses, not names.
func checkIPPort(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("want ip:port: %w", err)
	}
	if net.ParseIP(host) == nil {
		return fmt.Errorf("host %q is not an IP address", host)
	}
	return checkPort(port)
}

func checkPort(port string) error {
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("invalid port %q", port)
	}
	return nil
}

// checkJoinAddress accepts what dskit's memberlist resolves: host:port, or
// a DNS lookup named by its prefix.
func checkJoinAddress(addr string) error {
	if prefix, name, ok := strings.Cut(addr, "+"); ok {
		switch prefix {
		case "dns":
			return checkHostPort(name)
		case "dnssrv", "dnssrvnoa":
			if name == "" {
				return errors.New("no name to look up")
			}
			return nil
		}
		return fmt.Errorf("unknown lookup %q (want dns+, dnssrv+ or dnssrvnoa+)", prefix+"+")
	}
	return checkHostPort(addr)
}

func checkHostPort(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("want host:port: %w", err)
	}
	if host == "" {
		return errors.New("no host")
	}
	return checkPort(port)
}

// CheckReloadable refuses a reload from running to next when it changes
// what only a restart can apply: the cluster section (this instance's
// identity and its memberlist listener) and start_timestamps (the engine's
// and the scrape loops' setting).
func CheckReloadable(running, next *Config) error {
	a, b := running.Graft.Cluster, next.Graft.Cluster
	// `join: []` and no join at all are the same setting.
	if len(a.Join) == 0 && len(b.Join) == 0 {
		a.Join, b.Join = nil, nil
	}
	if !reflect.DeepEqual(a, b) {
		return errors.New("graft.cluster changed: cluster settings apply only at start; restart Graft to change them (the running configuration stays)")
	}
	if running.Graft.StartTimestamps != next.Graft.StartTimestamps {
		return errors.New("graft.start_timestamps changed: it applies only at start; restart Graft to change it (the running configuration stays)")
	}
	return nil
}
