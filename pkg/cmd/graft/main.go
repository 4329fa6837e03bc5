// Command graft runs Graft's core as a standalone server with the Prometheus
// HTTP API, so that promtool, remote-write senders and Grafana's stock
// Prometheus datasource can use it. Flags carry Prometheus's names.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/graftlabs/graft/pkg/core"
	"github.com/graftlabs/graft/pkg/version"
)

// defaultListenAddress applies when neither the flag nor graft.yml sets one.
const defaultListenAddress = "127.0.0.1:9091"

type flags struct {
	configFile       string
	listenAddress    string
	dataDir          string
	enableLifecycle  bool
	enableRWReceiver bool
	enableAdminAPI   bool
	logLevel         string
	showVersion      bool
}

func parseFlags(args []string, stderr io.Writer) (*flags, error) {
	f := &flags{}
	fs := flag.NewFlagSet("graft", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.configFile, "config.file", "", "Graft configuration file (graft.yml, prometheus.yml-compatible). Empty: the built-in default.")
	fs.StringVar(&f.listenAddress, "web.listen-address", "", "Address to serve the HTTP API on. Empty: graft.web.listen_address from the config, else "+defaultListenAddress+".")
	fs.StringVar(&f.dataDir, "storage.tsdb.path", "data/", "Base path for metrics storage.")
	fs.BoolVar(&f.enableLifecycle, "web.enable-lifecycle", false, "Enable reload via HTTP POST to /-/reload.")
	fs.BoolVar(&f.enableRWReceiver, "web.enable-remote-write-receiver", false, "Accept remote-write requests on /api/v1/write.")
	fs.BoolVar(&f.enableAdminAPI, "web.enable-admin-api", false, "Enable the admin endpoints (/api/v1/admin/tsdb/snapshot).")
	fs.StringVar(&f.logLevel, "log.level", "info", "Only log messages with the given severity or above: debug, info, warn, error.")
	fs.BoolVar(&f.showVersion, "version", false, "Print version and exit.")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	return f, nil
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "graft:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	f, err := parseFlags(args, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if f.showVersion {
		v := version.Get()
		fmt.Printf("graft, version %s (revision: %s, branch: %s)\n  go version: %s\n", v.Version, v.Revision, v.Branch, v.GoVersion)
		return nil
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return fmt.Errorf("invalid --log.level: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	c, err := core.New(core.Options{
		ConfigFile:                f.configFile,
		DataDir:                   f.dataDir,
		ListenAddress:             f.listenAddress,
		DefaultListen:             defaultListenAddress,
		RequireListener:           true,
		EnableLifecycle:           f.enableLifecycle,
		EnableRemoteWriteReceiver: f.enableRWReceiver,
		EnableAdminAPI:            f.enableAdminAPI,
		Logger:                    logger,
		Registerer:                reg,
		Gatherer:                  reg,
	})
	if err != nil {
		return err
	}
	return serve(c, logger)
}

// serve runs the core until SIGINT or SIGTERM; SIGHUP reloads the config.
func serve(c *core.Core, logger *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The service context is not ctx: a signal stops the core through
	// StopAndAwaitTerminated below, in order, not by canceling it from under it.
	if err := services.StartAndAwaitRunning(context.Background(), c); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	terminated := make(chan error, 1)
	go func() { terminated <- c.AwaitTerminated(context.Background()) }()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-hup:
			_ = c.Reload() // a bad file is logged and the running config stays
		case <-ctx.Done():
			logger.Info("Shutting down")
			return services.StopAndAwaitTerminated(context.Background(), c)
		case err := <-terminated:
			return err
		}
	}
}
