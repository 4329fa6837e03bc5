package core

import (
	"context"
	"time"

	"github.com/graftlabs/graft/pkg/config"
	"github.com/graftlabs/graft/pkg/promql"
	"github.com/graftlabs/graft/pkg/querycache"
)

// newQueryCache builds the results cache of range queries over the store,
// invalidated by the store's change feed.
func (c *Core) newQueryCache(cfg *config.Config) *querycache.Cache {
	return querycache.New(querycache.Options{
		Engine: c.engine, Storage: c.store, Feed: c.store,
		Config: queryCacheConfig(cfg), Registerer: c.opts.Registerer,
	})
}

func queryCacheConfig(cfg *config.Config) querycache.Config {
	qc := cfg.Graft.QueryCache
	return querycache.Config{Enabled: qc.Enabled, MaxBytes: int64(qc.MaxSize), Freshness: time.Duration(qc.Freshness)}
}

// RangeQuery evaluates a range query through the results cache (which
// passes it to the engine when disabled). The result's histograms may be
// shared with the cache: read-only.
func (c *Core) RangeQuery(ctx context.Context, expr string, start, end time.Time, step time.Duration, opts promql.QueryOpts) (*promql.Result, error) {
	return c.cache.Range(ctx, expr, start, end, step, opts)
}
