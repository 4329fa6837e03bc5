package promcompat

import (
	"context"
	"time"

	prompromql "github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	promstorage "github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/stats"

	"github.com/graftlabs/graft/pkg/promql"
	"github.com/graftlabs/graft/pkg/storage"
)

// Engine presents Graft's engine as a Prometheus promql.QueryEngine.
type Engine struct {
	graft *promql.Engine
}

var _ prompromql.QueryEngine = (*Engine)(nil)

// NewEngine wraps e.
func NewEngine(e *promql.Engine) *Engine { return &Engine{graft: e} }

// NewInstantQuery implements promql.QueryEngine.
func (e *Engine) NewInstantQuery(_ context.Context, q promstorage.Queryable, opts prompromql.QueryOpts, qs string, ts time.Time) (prompromql.Query, error) {
	qry, err := e.graft.NewInstantQuery(graftQueryable(q), qs, ts, queryOpts(opts))
	if err != nil {
		return nil, err
	}
	return &query{q: qry, text: qs}, nil
}

// NewRangeQuery implements promql.QueryEngine.
func (e *Engine) NewRangeQuery(_ context.Context, q promstorage.Queryable, opts prompromql.QueryOpts, qs string, start, end time.Time, interval time.Duration) (prompromql.Query, error) {
	qry, err := e.graft.NewRangeQuery(graftQueryable(q), qs, start, end, interval, queryOpts(opts))
	if err != nil {
		return nil, err
	}
	return &query{q: qry, text: qs}, nil
}

func queryOpts(opts prompromql.QueryOpts) promql.QueryOpts {
	if opts == nil {
		return promql.QueryOpts{}
	}
	return promql.QueryOpts{LookbackDelta: opts.LookbackDelta()}
}

// graftQueryable unwraps a Storage back to the Graft storage it wraps, or
// wraps any other Prometheus queryable.
func graftQueryable(q promstorage.Queryable) storage.Queryable {
	if s, ok := q.(*Storage); ok {
		return s.graft
	}
	return FromPrometheus(q)
}

type query struct {
	q      *promql.Query
	text   string
	cancel context.CancelFunc
}

func (q *query) Exec(ctx context.Context) *prompromql.Result {
	ctx, q.cancel = context.WithCancel(ctx)
	defer q.cancel()
	res, err := q.q.Exec(ctx)
	if err != nil {
		return &prompromql.Result{Err: err}
	}
	defer res.Close() // the conversion copies the points
	return &prompromql.Result{Value: ToPrometheus(res.Value), Warnings: res.Annotations}
}

func (*query) Close() {}

func (q *query) Statement() parser.Statement {
	expr, _ := parser.NewParser(promql.AllFeatures).ParseExpr(q.text)
	return &parser.EvalStmt{Expr: expr}
}

func (*query) Stats() *stats.Statistics { return &stats.Statistics{} }

func (q *query) Cancel() {
	if q.cancel != nil {
		q.cancel()
	}
}

func (q *query) String() string { return q.text }

// ToPrometheus converts a Graft query result to the Prometheus module's
// value types.
func ToPrometheus(v promql.Value) parser.Value {
	switch v := v.(type) {
	case promql.Scalar:
		return prompromql.Scalar{T: v.T, V: v.V}
	case promql.String:
		return prompromql.String{T: v.T, V: v.V}
	case promql.Vector:
		out := make(prompromql.Vector, len(v))
		for i, s := range v {
			out[i] = prompromql.Sample{Metric: s.Metric, T: s.T, F: s.F, H: s.H}
		}
		return out
	case promql.Matrix:
		out := make(prompromql.Matrix, len(v))
		for i, s := range v {
			ps := prompromql.Series{Metric: s.Metric}
			if len(s.Floats) > 0 {
				ps.Floats = make([]prompromql.FPoint, len(s.Floats))
				for k, p := range s.Floats {
					ps.Floats[k] = prompromql.FPoint{T: p.T, F: p.F}
				}
			}
			if len(s.Histograms) > 0 {
				ps.Histograms = make([]prompromql.HPoint, len(s.Histograms))
				for k, p := range s.Histograms {
					ps.Histograms[k] = prompromql.HPoint{T: p.T, H: p.H}
				}
			}
			out[i] = ps
		}
		return out
	}
	return nil
}
