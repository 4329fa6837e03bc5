// Package cluster shards scraping over several Graft instances. Members
// find each other over memberlist (dskit's gossiped KV store), each registers
// itself with tokens in a hash ring, and a target belongs to the instances
// the ring names for a hash of its identity. Where one machine is not
// enough, Graft shards scraping this way and remote-writes to Mimir or
// Thanos rather than growing its own clustered storage.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/grafana/dskit/dns"
	"github.com/grafana/dskit/kv/memberlist"
	"github.com/grafana/dskit/ring"
	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"
)

// Options are the service's surroundings.
type Options struct {
	Logger *slog.Logger
	// Registerer holds graft_cluster_* and, prefixed with graft_, dskit's
	// own ring and memberlist metrics. Nil: a private registry.
	Registerer prometheus.Registerer
	// OnChange is called, from the service's goroutine, whenever the ring
	// changed in a way that may move targets (members, states, tokens,
	// health). Owns answers for the new ring by then.
	OnChange func()
}

// Service is this instance's membership of the cluster: a dskit service
// that joins memberlist, registers in the ring and watches it. Stopping it
// unregisters the instance, so that the others take its targets at once.
type Service struct {
	services.Service

	cfg      Config
	logger   *slog.Logger
	klog     log.Logger
	reg      prometheus.Registerer // for dskit, prefixed
	onChange func()
	metrics  *metrics

	kv      *memberlist.KV
	client  *memberlist.Client
	ring    *ring.Ring
	watcher *services.FailureWatcher
	// lifecycler is built by starting, once memberlist knows its port.
	lifecycler atomic.Pointer[ring.BasicLifecycler]

	lastFingerprint uint64 // only touched by starting and running
}

// New builds the service; nothing listens until it starts.
func New(cfg Config, opts Options) (*Service, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("cluster config: %w", err)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Registerer == nil {
		opts.Registerer = prometheus.NewRegistry()
	}
	s := &Service{
		cfg:      cfg,
		logger:   opts.Logger,
		klog:     newGokitLogger(opts.Logger),
		reg:      prometheus.WrapRegistererWithPrefix("graft_", opts.Registerer),
		onChange: opts.OnChange,
		metrics:  newMetrics(opts.Registerer),
		watcher:  services.NewFailureWatcher(),
	}
	kvCfg, err := cfg.kvConfig()
	if err != nil {
		return nil, fmt.Errorf("cluster config: %w", err)
	}
	dnsProvider := dns.NewProvider(dns.GolangResolverType, 0, s.klog, s.reg)
	s.kv = memberlist.NewKV(kvCfg, s.klog, dnsProvider, s.reg)
	if s.client, err = memberlist.NewClient(s.kv, ring.GetCodec()); err != nil {
		return nil, fmt.Errorf("memberlist client: %w", err)
	}
	s.ring, err = ring.NewWithStoreClientAndStrategy(cfg.ringConfig(), ringName, ringKey, s.client,
		// A member that stopped heartbeating is skipped; only when no owner
		// of a target is healthy does Owns fail (and the target get scraped
		// everywhere).
		ring.NewIgnoreUnhealthyInstancesReplicationStrategy(), s.reg, s.klog)
	if err != nil {
		return nil, fmt.Errorf("ring client: %w", err)
	}
	s.Service = services.NewBasicService(s.starting, s.running, s.stopping).WithName("cluster")
	s.AddListener(services.NewListener(nil, nil, nil, nil, s.failed))
	return s, nil
}

// failed: once membership is lost, Owns fails and every target is scraped
// here (see scrape.Options.Owns); OnChange makes that happen now.
func (s *Service) failed(from services.State, err error) {
	if from != services.Running {
		return // the start failed: whoever started the service has the error
	}
	s.logger.Error("Cluster membership failed; scraping every target here until Graft restarts", "err", err)
	if s.onChange != nil {
		s.onChange()
	}
}

// starting joins memberlist, registers this instance ACTIVE in the ring and
// starts watching it, in that order: each needs the one before.
func (s *Service) starting(ctx context.Context) (err error) {
	var started []services.Service
	defer func() {
		if err != nil {
			_ = s.stopAll(started)
		}
	}()
	if err := startService(ctx, s.kv); err != nil {
		return fmt.Errorf("memberlist on %s: %w", s.cfg.ListenAddress, err)
	}
	started = append(started, s.kv)
	s.watcher.WatchService(s.kv)

	lifecycler, err := s.newLifecycler()
	if err != nil {
		return err
	}
	s.lifecycler.Store(lifecycler)
	for _, svc := range []services.Service{lifecycler, s.ring} {
		if err := startService(ctx, svc); err != nil {
			return fmt.Errorf("start %s: %w", svc, err)
		}
		started = append(started, svc)
		s.watcher.WatchService(svc)
	}
	s.lastFingerprint = s.fingerprint()
	s.publish()
	s.logger.Info("Joined the scrape cluster", "instance", s.cfg.InstanceID, "address", lifecycler.GetInstanceAddr(),
		"members", s.ring.InstancesCount(), "replication_factor", s.cfg.ReplicationFactor)
	return nil
}

// startService starts svc for the lifetime of this service, not of ctx
// (which ends when starting does), and waits at most as long as ctx for it
// to run.
func startService(ctx context.Context, svc services.Service) error {
	if err := svc.StartAsync(context.Background()); err != nil {
		return err
	}
	return svc.AwaitRunning(ctx)
}

// newLifecycler registers this instance ACTIVE with its tokens (kept from
// a previous registration under the same id) and forgets members silent for
// longer than the heartbeat timeout. Stopping it unregisters the instance
// at once: a LEAVING state first would only delay that (the ring refuses a
// state change within the second of the last heartbeat, and dskit retries
// it a second later) while this instance has already stopped scraping.
func (s *Service) newLifecycler() (*ring.BasicLifecycler, error) {
	var delegate ring.BasicLifecyclerDelegate = ring.NewInstanceRegisterDelegate(ring.ACTIVE, numTokens)
	delegate = ring.NewAutoForgetDelegate(s.cfg.HeartbeatTimeout, delegate, s.klog)
	l, err := ring.NewBasicLifecycler(s.cfg.lifecyclerConfig(s.advertisedAddr()), ringName, ringKey, s.client, delegate, s.klog, s.reg)
	if err != nil {
		return nil, fmt.Errorf("ring lifecycler: %w", err)
	}
	return l, nil
}

// advertisedAddr is where other members reach this one: the advertise
// address, else the listen address with the port memberlist really bound.
func (s *Service) advertisedAddr() string {
	if s.cfg.AdvertiseAddress != "" {
		return s.cfg.AdvertiseAddress
	}
	host, _, err := net.SplitHostPort(s.cfg.ListenAddress)
	if err != nil {
		return s.cfg.ListenAddress
	}
	return net.JoinHostPort(host, strconv.Itoa(s.kv.GetListeningPort()))
}

// running polls the ring for changes of ownership until stopped, and fails
// if memberlist, the lifecycler or the ring client fails.
func (s *Service) running(ctx context.Context) error {
	ticker := time.NewTicker(s.cfg.PollInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-s.watcher.Chan():
			return fmt.Errorf("cluster membership failed: %w", err)
		case <-ticker.C:
			s.checkRing()
		}
	}
}

// checkRing tells OnChange when the ring looks different from last time.
func (s *Service) checkRing() {
	fp := s.fingerprint()
	s.publish()
	if fp == s.lastFingerprint {
		return
	}
	s.lastFingerprint = fp
	s.metrics.changes.Inc()
	s.logger.Info("Cluster ring changed; re-evaluating target ownership", "members", s.ring.InstancesCount())
	if s.onChange != nil {
		s.onChange()
	}
}

// stopping leaves in the reverse order of starting: the lifecycler
// unregisters this instance (others take its targets), then memberlist
// gossips that and leaves.
func (s *Service) stopping(_ error) error {
	started := []services.Service{s.kv}
	if l := s.lifecycler.Load(); l != nil {
		started = append(started, l, s.ring)
	}
	err := s.stopAll(started)
	s.logger.Info("Left the scrape cluster", "instance", s.cfg.InstanceID)
	return err
}

// stopAll stops services in the reverse order of started.
func (s *Service) stopAll(started []services.Service) error {
	var errs []error
	for i := len(started) - 1; i >= 0; i-- {
		if err := services.StopAndAwaitTerminated(context.Background(), started[i]); err != nil {
			errs = append(errs, fmt.Errorf("stop %s: %w", started[i], err))
		}
	}
	return errors.Join(errs...)
}

// Owns says whether this instance is among the replication-factor healthy
// ACTIVE instances the ring names for key. It fails when the ring cannot
// answer: membership not running, an empty ring, or no healthy owner.
func (s *Service) Owns(key string) (bool, error) {
	if st := s.State(); st != services.Running {
		s.metrics.ownershipErrors.Inc()
		return false, fmt.Errorf("cluster membership is %s", st)
	}
	set, err := s.ring.Get(hashKey(key), ownOp, nil, nil, nil)
	if err != nil {
		s.metrics.ownershipErrors.Inc()
		return false, fmt.Errorf("cluster ring: %w", err)
	}
	for _, inst := range set.Instances {
		if inst.Id == s.cfg.InstanceID {
			return true, nil
		}
	}
	return false, nil
}

// hashKey places a target on the ring: fnv32a of its identity, the same on
// every member.
func hashKey(key string) uint32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return h.Sum32()
}
