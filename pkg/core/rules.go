package core

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/config"
	"github.com/graftlabs/graft/pkg/promql"
	"github.com/graftlabs/graft/pkg/remote"
	"github.com/graftlabs/graft/pkg/rules"
)

// ruleQuery evaluates rule expressions with the core's engine over its
// storage; a scalar result is one sample without labels.
func (c *Core) ruleQuery(ctx context.Context, expr string, ts time.Time) ([]rules.Sample, error) {
	res, err := c.engine.Instant(ctx, c.store, expr, ts)
	if err != nil {
		return nil, err
	}
	switch v := res.Value.(type) {
	case promql.Vector:
		out := make([]rules.Sample, len(v))
		for i, s := range v {
			out[i] = rules.Sample{Metric: s.Metric, F: s.F}
		}
		return out, nil
	case promql.Scalar:
		return []rules.Sample{{Metric: labels.EmptyLabels(), F: v.V}}, nil
	}
	return nil, fmt.Errorf("rule expression returned a %s, not a vector or scalar", res.Value.Type())
}

// component is one part that takes a configuration; apply may fail and
// leave the part on its previous configuration.
type component struct {
	name  string
	apply func(*config.Config) error
}

// components are applied in this order on start and on every reload.
// Remote write comes last: nothing after it can refuse the file, so it is
// never rolled back, and a removed endpoint's queue can be deleted at once.
func (c *Core) components() []component {
	return []component{
		{"notifier", func(cfg *config.Config) error { return c.notifier.ApplyConfig(cfg.Prometheus) }},
		{"rules", func(cfg *config.Config) error {
			g := cfg.Prometheus.GlobalConfig
			return c.rules.Update(cfg.Prometheus.RuleFiles, time.Duration(g.EvaluationInterval), g.ExternalLabels)
		}},
		{"scrape", func(cfg *config.Config) error { return c.scraper.ApplyConfig(cfg.ScrapeConfigs) }},
		{"query_cache", func(cfg *config.Config) error { c.cache.ApplyConfig(queryCacheConfig(cfg)); return nil }},
		{"remote_write", func(cfg *config.Config) error { return c.remote.ApplyConfig(remote.FromConfig(cfg)) }},
	}
}

// applyConfig applies cfg to every part. If one refuses it, the parts
// already changed are put back on prev, so that a reload is all or nothing.
func (c *Core) applyConfig(cfg, prev *config.Config) error {
	parts := c.components()
	for i, p := range parts {
		err := p.apply(cfg)
		if err == nil {
			continue
		}
		if prev != nil {
			for _, done := range parts[:i] {
				if rerr := done.apply(prev); rerr != nil {
					c.logger.Error("Restoring the running configuration failed", "component", done.name, "err", rerr)
				}
			}
		}
		return fmt.Errorf("apply %s configuration: %w", p.name, err)
	}
	return nil
}
