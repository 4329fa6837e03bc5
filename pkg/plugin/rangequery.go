package plugin

import (
	"context"
	"time"

	"github.com/graftlabs/graft/pkg/promql"
)

// rangeQuerier is implemented by cores that answer range queries through
// their results cache; other cores' queries go to the engine.
type rangeQuerier interface {
	RangeQuery(ctx context.Context, expr string, start, end time.Time, step time.Duration, opts promql.QueryOpts) (*promql.Result, error)
}

// evalRange evaluates a panel's range query.
func (d *Datasource) evalRange(ctx context.Context, q *query, opts promql.QueryOpts) (*promql.Result, error) {
	if rq, ok := d.core.(rangeQuerier); ok {
		return rq.RangeQuery(ctx, q.expr, q.start, q.end, q.step, opts)
	}
	return d.execRange(ctx, q, opts)
}
