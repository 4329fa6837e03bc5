// Package core wires Graft's parts into one lifecycle: configuration,
// storage, scraping, the PromQL engine and the HTTP listener. The plugin and
// the standalone server both run exactly one Core.
package core

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"

	graft "github.com/graftlabs/graft"
	"github.com/graftlabs/graft/pkg/api"
	"github.com/graftlabs/graft/pkg/cluster"
	"github.com/graftlabs/graft/pkg/config"
	"github.com/graftlabs/graft/pkg/demo"
	"github.com/graftlabs/graft/pkg/promql"
	"github.com/graftlabs/graft/pkg/querycache"
	"github.com/graftlabs/graft/pkg/remote"
	"github.com/graftlabs/graft/pkg/rules"
	"github.com/graftlabs/graft/pkg/scrape"
	"github.com/graftlabs/graft/pkg/storage"
	"github.com/graftlabs/graft/pkg/storage/tsdb"
	"github.com/graftlabs/graft/pkg/storage/tsdb/wal"
	"github.com/graftlabs/graft/pkg/version"
)

// Options configure a Core.
type Options struct {
	// ConfigFile is the graft.yml to load; empty uses the embedded default.
	ConfigFile string
	// DataDir is where storage keeps its files.
	DataDir string
	// ListenAddress, when set, overrides graft.web.listen_address.
	ListenAddress string
	// DefaultListen applies when neither ListenAddress nor the config sets
	// an address; empty means no listener.
	DefaultListen string
	// RequireListener makes a listener that cannot bind fail the start
	// (the standalone server); otherwise it is reported by Health (the plugin).
	RequireListener bool
	// EnableLifecycle allows POST /-/reload, as Prometheus's --web.enable-lifecycle.
	EnableLifecycle bool
	// EnableRemoteWriteReceiver accepts POST /api/v1/write whatever the
	// config says (graft.web.enable_remote_write_receiver also enables it).
	EnableRemoteWriteReceiver bool
	// EnableAdminAPI serves /api/v1/admin/tsdb/snapshot, as Prometheus's
	// --web.enable-admin-api; snapshots go to <DataDir>/snapshots.
	EnableAdminAPI bool
	Logger         *slog.Logger
	// Registerer and Gatherer hold the core's own metrics (nil: a private registry).
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer
}

// Core is a running Graft. It is a dskit service: StartAsync or
// services.StartAndAwaitRunning start it, StopAsync stops it.
type Core struct {
	services.Service

	opts     Options
	logger   *slog.Logger
	store    *tsdb.DB
	scraper  *scrape.Manager
	cluster  *cluster.Service // nil unless graft.cluster.enabled
	rules    *rules.Manager
	notifier *rules.Notifier
	receiver *remote.Receiver
	remote   *remote.Writer // remote write out; idle without remote_write
	engine   *promql.Engine
	cache    *querycache.Cache // range queries of the API and the plugin
	api      *api.API
	demo     *demo.Target
	web      *webServer
	metrics  *coreMetrics

	mtx       sync.RWMutex
	cfg       *config.Config
	reloadErr error
}

// New loads the configuration and builds the parts. Nothing runs until the
// service is started. A configuration that does not load is an error here;
// later reloads that fail keep the running configuration.
func New(opts Options) (*Core, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Registerer == nil || opts.Gatherer == nil {
		reg := prometheus.NewRegistry()
		opts.Registerer, opts.Gatherer = reg, reg
	}
	cfg, err := loadConfig(opts.ConfigFile, opts.Logger)
	if err != nil {
		return nil, err
	}
	store, err := openStorage(opts, cfg)
	if err != nil {
		return nil, err
	}
	c := &Core{
		opts:   opts,
		logger: opts.Logger,
		store:  store,
		engine: promql.NewEngine(promql.EngineOpts{
			Registerer: opts.Registerer, EnableStartTimestamps: cfg.Graft.StartTimestamps,
		}),
		demo:    demo.New(uint64(time.Now().UnixNano()), nil),
		cfg:     cfg,
		metrics: newCoreMetrics(opts.Registerer),
	}
	if c.cluster, err = c.newCluster(cfg.Graft.Cluster); err != nil {
		return nil, err
	}
	// Everything written to the store goes through the tee, so that
	// remote write sends what was committed, whoever wrote it.
	c.remote = remote.NewWriter(remote.Options{
		Dir: filepath.Join(opts.DataDir, "remote-write"), UserAgent: version.UserAgent(),
		Logger: opts.Logger.With("component", "remote-write-out"), Registerer: opts.Registerer,
	})
	appendable := remote.NewTee(c.store, c.remote)
	c.scraper = scrape.NewManager(appendable, scrape.Options{
		Logger: opts.Logger.With("component", "scrape"), Registerer: opts.Registerer, UserAgent: version.UserAgent(),
		Owns: c.scrapeOwns(), StartTimestamps: cfg.Graft.StartTimestamps,
	})
	c.receiver = remote.NewReceiver(appendable, opts.Logger.With("component", "remote-write"), opts.Registerer)
	c.notifier = rules.NewNotifier(opts.Logger.With("component", "notifier"), opts.Registerer)
	c.rules = rules.NewManager(rules.Options{
		Query: c.ruleQuery, Store: appendable, Notifier: c.notifier,
		Logger: opts.Logger.With("component", "rules"), Registerer: opts.Registerer,
	})
	c.cache = c.newQueryCache(cfg)
	c.api = &api.API{
		Storage: c.store, Engine: c.engine, Targets: c.scraper, Rules: c.rules, Logger: opts.Logger,
		Exemplars: c.store, Metadata: c.scraper, Ranges: c.cache,
	}
	if opts.EnableAdminAPI {
		c.api.Admin = &api.Admin{Snapshots: c.store, Dir: filepath.Join(opts.DataDir, "snapshots")}
	}
	opts.Registerer.MustRegister(newStorageCollector(c.store))
	c.Service = services.NewBasicService(c.starting, c.running, c.stopping)
	return c, nil
}

// openStorage opens the TSDB in the data directory, replaying its WAL.
func openStorage(opts Options, cfg *config.Config) (*tsdb.DB, error) {
	if opts.DataDir == "" {
		return nil, errors.New("a data directory is required")
	}
	sc := cfg.Graft.Storage
	policy, err := wal.ParseFsyncPolicy(sc.Fsync)
	if err != nil {
		return nil, fmt.Errorf("graft.storage.fsync: %w", err)
	}
	db, err := tsdb.Open(opts.DataDir, tsdb.Options{
		Retention:            time.Duration(sc.Retention),
		RetentionSize:        int64(sc.RetentionSize),
		OutOfOrderTimeWindow: time.Duration(sc.OutOfOrderTimeWindow),
		Fsync:                policy,
		FsyncInterval:        time.Duration(sc.FsyncInterval),
		DisableDownsampling:  !sc.DownsamplingEnabled(),
		Downsample5mAfter:    time.Duration(sc.Downsample5mAfter),
		Downsample1hAfter:    time.Duration(sc.Downsample1hAfter),
		Logger:               opts.Logger.With("component", "tsdb"),
		Registerer:           opts.Registerer,
	})
	if err != nil {
		return nil, fmt.Errorf("open storage: %w", err)
	}
	return db, nil
}

func loadConfig(path string, logger *slog.Logger) (*config.Config, error) {
	if path == "" {
		return config.Load(graft.DefaultConfig, ".", logger)
	}
	return config.LoadFile(path, logger)
}

func (c *Core) starting(ctx context.Context) error {
	if err := c.start(ctx); err != nil {
		// stopping does not run after a failed start: release the storage here.
		if cerr := c.remote.Close(); cerr != nil {
			c.logger.Error("Closing remote write after a failed start", "err", cerr)
		}
		if cerr := c.store.Close(); cerr != nil {
			c.logger.Error("Closing storage after a failed start", "err", cerr)
		}
		return err
	}
	return nil
}

func (c *Core) start(ctx context.Context) (err error) {
	if err := c.startCluster(ctx); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = c.stopCluster() // a core that did not start is no member
		}
	}()
	cfg := c.Config()
	addr := cmp.Or(c.opts.ListenAddress, cfg.Graft.Web.ListenAddress, c.opts.DefaultListen)
	if addr != "" {
		web, err := startWeb(addr, c.webHandler(), c.logger)
		if err != nil && c.opts.RequireListener {
			return err
		}
		c.web = web // on error it carries the error for Health
	}
	// Remote write first, so that the first scrapes are already sent (on
	// reloads it comes last: see components).
	if err := c.remote.ApplyConfig(remote.FromConfig(cfg)); err != nil {
		return fmt.Errorf("apply remote_write configuration: %w", err)
	}
	if err := c.applyConfig(cfg, nil); err != nil {
		return err
	}
	c.metrics.reloaded(nil)
	c.logger.Info("Graft core started", "config", cfg.Source, "listen", addr, "jobs", len(cfg.ScrapeConfigs))
	for _, w := range cfg.Warnings {
		c.logger.Warn("Configuration not fully supported", "warning", w)
	}
	return nil
}

// running enforces retention until the service stops.
func (c *Core) running(ctx context.Context) error {
	ticker := time.NewTicker(time.Minute)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
			retention := time.Duration(c.Config().Graft.Storage.Retention)
			c.store.Truncate(time.Now().Add(-retention).UnixMilli())
		}
	}
}

func (c *Core) stopping(_ error) error {
	c.scraper.Stop()
	// Only once this instance no longer scrapes: the others take its
	// targets as soon as it leaves.
	errs := []error{c.stopCluster()}
	c.rules.Stop()
	c.notifier.Stop()
	if c.web != nil {
		errs = append(errs, c.web.close())
	}
	// Nothing commits any more: what is queued and unsent waits on disk
	// for the next start.
	errs = append(errs, c.remote.Close())
	errs = append(errs, c.store.Close())
	c.logger.Info("Graft core stopped")
	return errors.Join(errs...)
}

// Config returns the configuration in effect.
func (c *Core) Config() *config.Config {
	c.mtx.RLock()
	defer c.mtx.RUnlock()
	return c.cfg
}

// Reload reads the configuration file again. A file that does not load, or
// that the scrape manager refuses, leaves the running configuration in place
// and is reported by Health until a later reload succeeds.
func (c *Core) Reload() error {
	err := c.reload()
	c.mtx.Lock()
	c.reloadErr = err
	c.mtx.Unlock()
	c.metrics.reloaded(err)
	if err != nil {
		c.logger.Error("Reloading configuration failed; keeping the running one", "err", err)
		return err
	}
	c.logger.Info("Configuration reloaded", "config", c.Config().Source)
	return nil
}

func (c *Core) reload() error {
	cfg, err := loadConfig(c.opts.ConfigFile, c.logger)
	if err != nil {
		return err
	}
	if err := config.CheckReloadable(c.Config(), cfg); err != nil {
		return err
	}
	if err := c.applyConfig(cfg, c.Config()); err != nil {
		return err
	}
	c.mtx.Lock()
	c.cfg = cfg
	c.mtx.Unlock()
	return nil
}

// API returns the Prometheus HTTP API handlers over this core.
func (c *Core) API() *api.API { return c.api }

// Engine returns the PromQL engine.
func (c *Core) Engine() *promql.Engine { return c.engine }

// Storage returns the storage the core writes to.
func (c *Core) Storage() storage.Storage { return c.store }

// Queryable returns the storage as the query side sees it.
func (c *Core) Queryable() storage.Queryable { return c.store }

// Exemplars returns the storage's exemplar side.
func (c *Core) Exemplars() storage.ExemplarQueryable { return c.store }

// APIHandler returns the /api/v1/ handlers, for the plugin's CallResource.
func (c *Core) APIHandler() http.Handler { return c.api.Handler() }
