package core

import (
	"context"
	"fmt"

	"github.com/grafana/dskit/services"

	"github.com/graftlabs/graft/pkg/cluster"
	"github.com/graftlabs/graft/pkg/config"
)

// newCluster builds this instance's scrape-cluster membership when
// graft.cluster is enabled (nil otherwise). Ring changes re-evaluate which
// targets the scrape manager runs.
func (c *Core) newCluster(cfg config.ClusterConfig) (*cluster.Service, error) {
	if !cfg.Enabled {
		return nil, nil
	}
	svc, err := cluster.New(cluster.FromConfig(cfg), cluster.Options{
		Logger:     c.logger.With("component", "cluster"),
		Registerer: c.opts.Registerer,
		OnChange:   func() { c.scraper.Resync() },
	})
	if err != nil {
		return nil, fmt.Errorf("graft.cluster: %w", err)
	}
	return svc, nil
}

// scrapeOwns is the scrape manager's ownership filter: none without a cluster.
func (c *Core) scrapeOwns() func(string) (bool, error) {
	if c.cluster == nil {
		return nil
	}
	return c.cluster.Owns
}

// startCluster joins the cluster before anything is scraped, so that the
// first scrape configuration already splits the targets.
func (c *Core) startCluster(ctx context.Context) error {
	if c.cluster == nil {
		return nil
	}
	// The membership lives until stopCluster, not as long as ctx.
	if err := c.cluster.StartAsync(context.Background()); err != nil {
		return fmt.Errorf("start cluster membership: %w", err)
	}
	if err := c.cluster.AwaitRunning(ctx); err != nil {
		return fmt.Errorf("start cluster membership: %w", err)
	}
	return nil
}

// stopCluster leaves the ring (the others take this instance's targets)
// and memberlist.
func (c *Core) stopCluster() error {
	if c.cluster == nil || c.cluster.State() == services.New {
		return nil
	}
	if err := services.StopAndAwaitTerminated(context.Background(), c.cluster); err != nil {
		return fmt.Errorf("leave the cluster: %w", err)
	}
	return nil
}
