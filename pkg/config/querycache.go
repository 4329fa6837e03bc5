package config

import (
	"fmt"
	"time"

	"github.com/alecthomas/units"
	"github.com/prometheus/common/model"
)

// QueryCacheConfig is graft.query_cache: the results cache range queries
// (panels, /api/v1/query_range) go through. It is exact: the storage's
// change feed invalidates what late samples, backfill or deletions touch.
type QueryCacheConfig struct {
	Enabled bool `yaml:"enabled"`
	// MaxSize bounds the memory the cached results take; least recently
	// used ones are evicted first.
	MaxSize Bytes `yaml:"max_size"`
	// Freshness: step points newer than now minus this are evaluated every
	// time, not cached (they would be invalidated by the next scrape).
	Freshness model.Duration `yaml:"freshness"`
}

// Query cache defaults.
const (
	DefaultQueryCacheMaxSize   = Bytes(256 * units.MiB)
	DefaultQueryCacheFreshness = model.Duration(10 * time.Minute)
	minQueryCacheSize          = Bytes(units.MiB)
)

func defaultQueryCacheConfig() QueryCacheConfig {
	return QueryCacheConfig{Enabled: true, MaxSize: DefaultQueryCacheMaxSize, Freshness: DefaultQueryCacheFreshness}
}

func (c QueryCacheConfig) validate() error {
	if c.MaxSize < minQueryCacheSize {
		return fmt.Errorf("graft.query_cache.max_size must be at least 1MiB, got %s", c.MaxSize)
	}
	if c.Freshness < 0 {
		return fmt.Errorf("graft.query_cache.freshness must not be negative, got %s", c.Freshness)
	}
	return nil
}
