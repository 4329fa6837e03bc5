// Command gpx_graft is Graft's Grafana backend plugin. Grafana starts it and
// talks to it over the plugin protocol; the metrics core starts here, with the
// process, so scraping never waits for the first panel to load.
package main

import (
	"context"
	"os"
	"path/filepath"

	"github.com/grafana/dskit/services"
	"github.com/grafana/grafana-plugin-sdk-go/backend/datasource"
	sdklog "github.com/grafana/grafana-plugin-sdk-go/backend/log"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/graftlabs/graft/pkg/core"
	"github.com/graftlabs/graft/pkg/plugin"
)

// Grafana passes each key of [plugin.graftlabs-graft-datasource] in
// grafana.ini as GF_PLUGIN_<KEY>.
const (
	envConfigFile = "GF_PLUGIN_CONFIG_FILE"
	envDataDir    = "GF_PLUGIN_DATA_DIR"
)

func main() {
	logger := sdklog.DefaultLogger
	c, startErr := startCore(logger)
	var pc plugin.Core
	if c != nil {
		pc = c
	}
	if err := datasource.Manage(plugin.PluginID, plugin.NewFactory(pc, startErr), datasource.ManageOpts{}); err != nil {
		logger.Error("Plugin server stopped", "error", err)
	}
	if c != nil {
		_ = services.StopAndAwaitTerminated(context.Background(), c)
	}
	if startErr != nil {
		os.Exit(1)
	}
}

// startCore starts the core. If it cannot start (say, graft.yml does not
// parse), the plugin still serves so that Grafana's health check can show why.
func startCore(logger sdklog.Logger) (*core.Core, error) {
	c, err := core.New(core.Options{
		ConfigFile: os.Getenv(envConfigFile),
		DataDir:    dataDir(),
		Logger:     plugin.NewSlogLogger(logger),
		Registerer: prometheus.DefaultRegisterer,
		Gatherer:   prometheus.DefaultGatherer,
	})
	if err != nil {
		logger.Error("Graft core did not start", "error", err)
		return nil, err
	}
	if err := services.StartAndAwaitRunning(context.Background(), c); err != nil {
		logger.Error("Graft core did not start", "error", err)
		return nil, err
	}
	return c, nil
}

// dataDir is GF_PLUGIN_DATA_DIR, else a folder in the user's data home.
func dataDir() string {
	if d := os.Getenv(envDataDir); d != "" {
		return d
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "graft")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "graft")
	}
	return filepath.Join(os.TempDir(), "graft")
}
