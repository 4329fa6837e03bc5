// Package config loads graft.yml: a prometheus.yml-compatible file with one
// extra top-level section, `graft:`, for what Prometheus has no key for.
// Everything else is parsed and validated by Prometheus's own config package,
// so existing prometheus.yml files carry over unchanged.
package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	promconfig "github.com/prometheus/prometheus/config"
	"go.yaml.in/yaml/v3"
)

// GraftSection is the `graft:` section of graft.yml.
type GraftSection struct {
	Web     WebConfig     `yaml:"web"`
	Storage StorageConfig `yaml:"storage"`
	Cluster ClusterConfig `yaml:"cluster"`
	// RemoteWrite bounds the queues of the remote_write endpoints.
	RemoteWrite RemoteWriteConfig `yaml:"remote_write"`
	QueryCache  QueryCacheConfig  `yaml:"query_cache"`
	// StartTimestamps stores the start timestamps targets expose for their
	// counters, histograms and summaries (OpenMetrics _created lines) and
	// lets rate, increase, irate and resets use them, as Prometheus's
	// start-timestamp ingestion and use-start-timestamps features. Read at
	// start only.
	StartTimestamps bool `yaml:"start_timestamps"`
}

// WebConfig configures the HTTP listener of the core (Prometheus API,
// /metrics, the demo target).
type WebConfig struct {
	// ListenAddress is where the core serves HTTP; empty disables the
	// listener (the plugin then answers only through Grafana).
	ListenAddress string `yaml:"listen_address"`
	// EnableRemoteWriteReceiver accepts remote-write requests on
	// /api/v1/write, as Prometheus's --web.enable-remote-write-receiver.
	EnableRemoteWriteReceiver bool `yaml:"enable_remote_write_receiver"`
}

// StorageConfig configures the storage engine.
type StorageConfig struct {
	// Retention is how long samples are kept.
	Retention model.Duration `yaml:"retention"`
	// Fsync says when committed samples are forced to disk: "commit" (the
	// default: before each commit returns, concurrent commits sharing one
	// fsync), "interval" (every FsyncInterval) or "segment" (when a WAL
	// segment is full, as Prometheus does). Every policy survives the
	// process being killed; they differ on a power loss.
	Fsync string `yaml:"fsync"`
	// FsyncInterval is the period of the "interval" policy (default 1s).
	FsyncInterval model.Duration `yaml:"fsync_interval"`
	// RetentionSize, when set, deletes the oldest blocks while blocks and
	// WAL take more than this many bytes ("50GB"; units as Prometheus's
	// --storage.tsdb.retention.size, powers of 1024).
	RetentionSize ByteSize `yaml:"retention_size"`
	// OutOfOrderTimeWindow accepts samples older than their series' newest
	// one if they are within this of the newest sample (default 0: refused).
	OutOfOrderTimeWindow model.Duration `yaml:"out_of_order_time_window"`
	// Downsampling keeps 5m and 1h aggregates of old data for long-range
	// queries (default true).
	Downsampling *bool `yaml:"downsampling"`
	// Downsample5mAfter and Downsample1hAfter are the ages past which data
	// is downsampled to 5m and 1h (default 40h and 10d, as Thanos).
	Downsample5mAfter model.Duration `yaml:"downsample_5m_after"`
	Downsample1hAfter model.Duration `yaml:"downsample_1h_after"`
}

// DownsamplingEnabled says whether downsampling runs.
func (s StorageConfig) DownsamplingEnabled() bool { return s.Downsampling == nil || *s.Downsampling }

// ByteSize is a size in bytes written with a unit: B, KB, MB, GB, TB, PB,
// EB (powers of 1024, as Prometheus reads them), or a plain number.
type ByteSize int64

var byteUnits = []struct {
	suffix string
	shift  uint
}{{"EB", 60}, {"PB", 50}, {"TB", 40}, {"GB", 30}, {"MB", 20}, {"KB", 10}, {"B", 0}}

// UnmarshalYAML implements yaml.Unmarshaler.
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseByteSize(n.Value)
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// ParseByteSize reads a size such as "512MB".
func ParseByteSize(s string) (ByteSize, error) {
	t := strings.TrimSpace(s)
	shift := uint(0)
	for _, u := range byteUnits {
		if strings.HasSuffix(strings.ToUpper(t), u.suffix) {
			t, shift = strings.TrimSpace(t[:len(t)-len(u.suffix)]), u.shift
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || (shift > 0 && n > math.MaxInt64>>shift) {
		return 0, fmt.Errorf("invalid size %q: want a non-negative number with an optional unit (B, KB, MB, GB, TB, PB, EB)", s)
	}
	return ByteSize(n << shift), nil
}

// DefaultRetention is the retention used when graft.yml sets none.
const DefaultRetention = model.Duration(15 * 24 * time.Hour)

// Config is a loaded and validated graft.yml.
type Config struct {
	Prometheus *promconfig.Config
	Graft      GraftSection
	// ScrapeConfigs are the validated scrape configurations, including those
	// pulled in through scrape_config_files.
	ScrapeConfigs []*promconfig.ScrapeConfig
	// Source names where the config came from (a path or "embedded default").
	Source string
	// Hash identifies the content, so reloads of an unchanged file are no-ops.
	Hash string
	// Warnings name parts of the file Graft accepts but does not act on yet.
	Warnings []string
}

// LoadFile reads and validates the file at path.
func LoadFile(path string, logger *slog.Logger) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config file: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	cfg, err := Load(b, filepath.Dir(abs), logger)
	if err != nil {
		return nil, fmt.Errorf("load config file %s: %w", path, err)
	}
	cfg.Source = path
	return cfg, nil
}

// Load parses and validates graft.yml content. dir resolves relative paths
// (credentials files, scrape_config_files).
func Load(b []byte, dir string, logger *slog.Logger) (*Config, error) {
	graftPart, promPart, err := splitGraftSection(b)
	if err != nil {
		return nil, err
	}
	cfg := &Config{Source: "embedded default", Hash: hash(b)}
	cfg.Graft.Storage.Retention = DefaultRetention
	cfg.Graft.Cluster = defaultClusterConfig()
	cfg.Graft.RemoteWrite = defaultRemoteWriteConfig()
	cfg.Graft.QueryCache = defaultQueryCacheConfig()
	if len(graftPart) > 0 {
		// Strict like Prometheus's own sections: a misspelt key is an error,
		// not a silently ignored setting.
		dec := yaml.NewDecoder(bytes.NewReader(graftPart))
		dec.KnownFields(true)
		doc := struct {
			Graft *GraftSection `yaml:"graft"`
		}{Graft: &cfg.Graft}
		if err := dec.Decode(&doc); err != nil {
			return nil, fmt.Errorf("parse graft section: %w", err)
		}
	}
	if err := cfg.Graft.Cluster.resolve(); err != nil {
		return nil, err
	}
	if err := cfg.Graft.validate(); err != nil {
		return nil, err
	}

	cfg.Prometheus, err = promconfig.Load(string(promPart), logger)
	if err != nil {
		return nil, fmt.Errorf("parse prometheus configuration: %w", err)
	}
	cfg.Prometheus.SetDirectory(dir)
	cfg.ScrapeConfigs, err = cfg.Prometheus.GetScrapeConfigs()
	if err != nil {
		return nil, fmt.Errorf("scrape configs: %w", err)
	}
	if err := checkRemoteWrite(cfg.Prometheus); err != nil {
		return nil, err
	}
	cfg.Warnings = unsupportedWarnings(cfg.Prometheus)
	return cfg, nil
}

func (g GraftSection) validate() error {
	if g.Storage.Retention <= 0 {
		return fmt.Errorf("graft.storage.retention must be positive, got %s", g.Storage.Retention)
	}
	switch g.Storage.Fsync {
	case "", "commit", "interval", "segment":
	default:
		return fmt.Errorf("graft.storage.fsync must be commit, interval or segment, got %q", g.Storage.Fsync)
	}
	if g.Storage.FsyncInterval < 0 {
		return fmt.Errorf("graft.storage.fsync_interval must not be negative, got %s", g.Storage.FsyncInterval)
	}
	if g.Storage.Downsample5mAfter > 0 && g.Storage.Downsample1hAfter > 0 && g.Storage.Downsample1hAfter < g.Storage.Downsample5mAfter {
		return fmt.Errorf("graft.storage.downsample_1h_after (%s) must not be shorter than downsample_5m_after (%s)",
			g.Storage.Downsample1hAfter, g.Storage.Downsample5mAfter)
	}
	if err := g.RemoteWrite.validate(); err != nil {
		return err
	}
	if err := g.QueryCache.validate(); err != nil {
		return err
	}
	return g.Cluster.validate()
}

// unsupportedWarnings lists sections that parse but that this version of
// Graft does not act on, so that health checks can say so instead of silently
// ignoring them.
func unsupportedWarnings(c *promconfig.Config) []string {
	w := remoteWriteWarnings(c)
	if len(c.RemoteReadConfigs) > 0 {
		w = append(w, "remote_read is not supported yet")
	}
	return w
}

// splitGraftSection separates the top-level `graft:` key from the rest. The
// rest keeps its line numbers (the graft lines are blanked, not removed), so
// that Prometheus's error messages point at the right line of the file.
// graftPart is the file with every other line blanked: a document with the
// single key `graft`, whose errors carry the file's line numbers too.
func splitGraftSection(b []byte) (graftPart, promPart []byte, err error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, nil, fmt.Errorf("parse YAML: %w", err)
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, b, nil
	}
	top := doc.Content[0]
	lines := strings.SplitAfter(string(b), "\n")
	for i := 0; i+1 < len(top.Content); i += 2 {
		key := top.Content[i]
		if key.Value != "graft" {
			continue
		}
		first := key.Line - 1
		last := len(lines) // exclusive
		if i+2 < len(top.Content) {
			last = top.Content[i+2].Line - 1
		}
		graftLines := make([]string, len(lines))
		for l := range lines {
			graftLines[l] = "\n"
			if l >= first && l < last {
				graftLines[l], lines[l] = lines[l], "\n"
			}
		}
		return []byte(strings.Join(graftLines, "")), []byte(strings.Join(lines, "")), nil
	}
	return nil, b, nil
}

func hash(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
