package plugin

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/graftlabs/graft/pkg/promql"
)

// cachingCore is a testCore that answers range queries itself, as the
// real core does through its results cache.
type cachingCore struct {
	*testCore
	mtx   sync.Mutex
	exprs []string
}

func (c *cachingCore) RangeQuery(ctx context.Context, expr string, start, end time.Time, step time.Duration, opts promql.QueryOpts) (*promql.Result, error) {
	c.mtx.Lock()
	c.exprs = append(c.exprs, expr)
	c.mtx.Unlock()
	return c.engine.Range(ctx, c.store, expr, start, end, step)
}

func TestRangeQueriesGoThroughTheCore(t *testing.T) {
	ds := newTestDatasource(t)
	cc := &cachingCore{testCore: ds.core.(*testCore)}
	ds.core = cc
	resp, err := ds.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{
		panelQuery("A", map[string]any{"expr": "reqs_total"}),
		panelQuery("B", map[string]any{"expr": "sum(reqs_total)", "instant": true, "range": false}),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if a := resp.Responses["A"]; a.Error != nil || len(a.Frames) != 2 {
		t.Fatalf("A: err %v, %d frames", a.Error, len(a.Frames))
	}
	if b := resp.Responses["B"]; b.Error != nil || len(b.Frames) != 1 {
		t.Fatalf("B: err %v, %d frames", b.Error, len(b.Frames))
	}
	if len(cc.exprs) != 1 || cc.exprs[0] != "reqs_total" {
		t.Fatalf("range queries through the core: %q, want the range panel's only", cc.exprs)
	}
}
