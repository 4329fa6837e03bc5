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
	"os"
	"sync"
	"time"

	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"

	graft "github.com/graftlabs/graft"
	"github.com/graftlabs/graft/pkg/api"
	"github.com/graftlabs/graft/pkg/config"
	"github.com/graftlabs/graft/pkg/demo"
	"github.com/graftlabs/graft/pkg/promql"
	"github.com/graftlabs/graft/pkg/scrape"
	"github.com/graftlabs/graft/pkg/storage"
	"github.com/graftlabs/graft/pkg/storage/memstore"
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
	Logger          *slog.Logger
	// Registerer and Gatherer hold the core's own metrics (nil: a private registry).
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer
}

// Core is a running Graft. It is a dskit service: StartAsync or
// services.StartAndAwaitRunning start it, StopAsync stops it.
type Core struct {
	services.Service

	opts    Options
	logger  *slog.Logger
	store   *memstore.Store
	scraper *scrape.Manager
	engine  *promql.Engine
	api     *api.API
	demo    *demo.Target
	web     *webServer
	metrics *coreMetrics

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
	c := &Core{
		opts:    opts,
		logger:  opts.Logger,
		store:   memstore.New(),
		engine:  promql.NewEngine(promql.EngineOpts{}),
		demo:    demo.New(uint64(time.Now().UnixNano()), nil),
		cfg:     cfg,
		metrics: newCoreMetrics(opts.Registerer),
	}
	c.scraper = scrape.NewManager(c.store, scrape.Options{
		Logger: opts.Logger.With("component", "scrape"), Registerer: opts.Registerer, UserAgent: version.UserAgent(),
	})
	c.api = &api.API{
		Storage: c.store, Engine: c.engine, Targets: c.scraper, Logger: opts.Logger,
		Exemplars: c.store, Metadata: c.scraper, Stats: c.store,
	}
	opts.Registerer.MustRegister(newStorageCollector(c.store))
	c.Service = services.NewBasicService(c.starting, c.running, c.stopping)
	return c, nil
}

func loadConfig(path string, logger *slog.Logger) (*config.Config, error) {
	if path == "" {
		return config.Load(graft.DefaultConfig, ".", logger)
	}
	return config.LoadFile(path, logger)
}

func (c *Core) starting(ctx context.Context) error {
	if c.opts.DataDir != "" {
		if err := os.MkdirAll(c.opts.DataDir, 0o750); err != nil {
			return fmt.Errorf("create data directory: %w", err)
		}
	}
	cfg := c.Config()
	addr := cmp.Or(c.opts.ListenAddress, cfg.Graft.Web.ListenAddress, c.opts.DefaultListen)
	if addr != "" {
		web, err := startWeb(addr, c.webHandler(), c.logger)
		if err != nil && c.opts.RequireListener {
			return err
		}
		c.web = web // on error it carries the error for Health
	}
	if err := c.scraper.ApplyConfig(cfg.ScrapeConfigs); err != nil {
		return fmt.Errorf("apply scrape configuration: %w", err)
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
	var errs []error
	if c.web != nil {
		errs = append(errs, c.web.close())
	}
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
	if err := c.scraper.ApplyConfig(cfg.ScrapeConfigs); err != nil {
		return fmt.Errorf("apply scrape configuration: %w", err)
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

// APIHandler returns the /api/v1/ handlers, for the plugin's CallResource.
func (c *Core) APIHandler() http.Handler { return c.api.Handler() }
