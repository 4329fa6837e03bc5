package cluster

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/grafana/dskit/flagext"
	"github.com/grafana/dskit/kv/codec"
	"github.com/grafana/dskit/kv/memberlist"
	"github.com/grafana/dskit/ring"

	"github.com/graftlabs/graft/pkg/config"
)

// Config is what a cluster member needs to join the others and share the
// targets with them.
type Config struct {
	InstanceID        string
	ListenAddress     string // ip:port memberlist binds to; port 0 picks one
	AdvertiseAddress  string // ip:port others reach this one on; empty: the listen address
	Join              []string
	ReplicationFactor int
	HeartbeatPeriod   time.Duration
	HeartbeatTimeout  time.Duration
	// PollInterval is how often the ring is checked for changes of
	// ownership (default 1s): reading the in-memory ring is cheap, and it
	// bounds how long a moved target waits for its new scraper.
	PollInterval time.Duration
}

// FromConfig takes the graft.cluster section.
func FromConfig(c config.ClusterConfig) Config {
	return Config{
		InstanceID:        c.InstanceID,
		ListenAddress:     c.ListenAddress,
		AdvertiseAddress:  c.AdvertiseAddress,
		Join:              c.Join,
		ReplicationFactor: c.ReplicationFactor,
		HeartbeatPeriod:   time.Duration(c.HeartbeatPeriod),
		HeartbeatTimeout:  time.Duration(c.HeartbeatTimeout),
	}
}

const (
	ringName = "scrape"
	ringKey  = "scrape"
	// numTokens per instance: enough for an even split of the targets
	// over a handful of instances, as Mimir's rulers use.
	numTokens = 128
	// clusterLabel keeps Graft's gossip apart from another memberlist
	// cluster (Mimir, Loki) reached by mistake.
	clusterLabel = "graft"
	// shutdownTimeout bounds how long leaving the cluster may take.
	shutdownTimeout = 5 * time.Second
	rejoinInterval  = time.Minute
)

// ownOp asks the ring for ACTIVE instances, extending the replica set past
// instances in any other state (joining, leaving), so that their targets go
// to the next instance at once.
var ownOp = ring.Write

func (c Config) withDefaults() Config {
	if c.PollInterval <= 0 {
		c.PollInterval = time.Second
	}
	if c.ReplicationFactor <= 0 {
		c.ReplicationFactor = 1
	}
	return c
}

func (c Config) validate() error {
	if c.InstanceID == "" {
		return fmt.Errorf("no instance id")
	}
	if c.HeartbeatPeriod <= 0 || c.HeartbeatTimeout <= c.HeartbeatPeriod {
		return fmt.Errorf("heartbeat timeout %s must be longer than the period %s (> 0)", c.HeartbeatTimeout, c.HeartbeatPeriod)
	}
	return nil
}

// kvConfig is dskit's memberlist configuration: its defaults, with this
// member's addresses, join list and the ring's codec.
func (c Config) kvConfig() (memberlist.KVConfig, error) {
	var kv memberlist.KVConfig
	flagext.DefaultValues(&kv)
	host, port, err := splitIPPort(c.ListenAddress)
	if err != nil {
		return kv, fmt.Errorf("listen address: %w", err)
	}
	kv.TCPTransport.BindAddrs = []string{host}
	kv.TCPTransport.BindPort = port
	if c.AdvertiseAddress != "" {
		if kv.AdvertiseAddr, kv.AdvertisePort, err = splitIPPort(c.AdvertiseAddress); err != nil {
			return kv, fmt.Errorf("advertise address: %w", err)
		}
	}
	kv.NodeName = c.InstanceID // with a random suffix: a restart is a new memberlist node
	kv.JoinMembers = append(flagext.StringSliceCSVMulti(nil), c.Join...)
	kv.ClusterLabel = clusterLabel
	kv.Codecs = []codec.Codec{ring.GetCodec()}
	// Rejoining now and then heals a split cluster: otherwise each half
	// would forget the other and scrape its targets too, for good.
	kv.RejoinInterval = rejoinInterval
	kv.LeaveTimeout = shutdownTimeout
	kv.BroadcastTimeoutForLocalUpdatesOnShutdown = shutdownTimeout
	return kv, nil
}

func (c Config) lifecyclerConfig(addr string) ring.BasicLifecyclerConfig {
	return ring.BasicLifecyclerConfig{
		ID:               c.InstanceID,
		Addr:             addr,
		HeartbeatPeriod:  c.HeartbeatPeriod,
		HeartbeatTimeout: c.HeartbeatTimeout,
		NumTokens:        numTokens,
	}
}

// ringConfig: members forget a silent instance after HeartbeatTimeout (see
// New); the ring deems it unhealthy only a little later, so that its
// targets go straight to their next owner rather than, for the moment
// between the two, to every member (which is what an unhealthy owner means,
// see Owns).
func (c Config) ringConfig() ring.Config {
	return ring.Config{
		HeartbeatTimeout:     c.HeartbeatTimeout + 2*c.HeartbeatPeriod,
		ReplicationFactor:    c.ReplicationFactor,
		SubringCacheDisabled: true,
	}
}

func splitIPPort(addr string) (string, int, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	if net.ParseIP(host) == nil {
		return "", 0, fmt.Errorf("%q is not an IP address", host)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("invalid port %q", portStr)
	}
	return host, port, nil
}
