package plugin

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/graftlabs/graft/pkg/promql"
)

// maxParallelQueries bounds how many panel queries of one request run at once.
const maxParallelQueries = 4

// QueryData runs each query of the request; a failing query fails alone,
// with its error in its own response.
func (d *Datasource) QueryData(ctx context.Context, req *backend.QueryDataRequest) (*backend.QueryDataResponse, error) {
	resp := backend.NewQueryDataResponse()
	var mtx sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, maxParallelQueries)
	for _, dq := range req.Queries {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			r := d.runQuery(ctx, dq)
			mtx.Lock()
			resp.Responses[dq.RefID] = r
			mtx.Unlock()
		}()
	}
	wg.Wait()
	return resp, nil
}

func (d *Datasource) runQuery(ctx context.Context, dq backend.DataQuery) backend.DataResponse {
	if d.startErr != nil {
		return backend.ErrDataResponse(backend.StatusInternal, "Graft core did not start: "+d.startErr.Error())
	}
	q, err := parseQuery(dq, d.settings.TimeInterval)
	if err != nil {
		return backend.ErrDataResponseWithSource(backend.StatusBadRequest, backend.ErrorSourceDownstream, err.Error())
	}
	res, err := d.resolutionFor(q)
	if err != nil {
		return backend.ErrDataResponseWithSource(backend.StatusBadRequest, backend.ErrorSourceDownstream, err.Error())
	}
	if d.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.timeout)
		defer cancel()
	}

	var frames data.Frames
	var notices []data.Notice
	if q.rangeQuery {
		r, err := d.evalRange(ctx, q, promql.QueryOpts{MaxResolution: res.forQuery(q.step, true)})
		if err != nil {
			return engineError(err)
		}
		frames = append(frames, toFrames(q, r.Value, "range")...)
		notices = append(notices, annotationNotices(r, q.expr)...)
		r.Close() // frames hold copies
	}
	if q.instant {
		r, err := d.execInstant(ctx, q, promql.QueryOpts{MaxResolution: res.forQuery(q.step, false)})
		if err != nil {
			return engineError(err)
		}
		frames = append(frames, toFrames(q, r.Value, "instant")...)
		notices = append(notices, annotationNotices(r, q.expr)...)
		r.Close()
	}
	frames = finishFrames(q, frames, notices)
	if q.exemplar {
		ef, err := d.exemplarFrame(ctx, q)
		if err != nil {
			return backend.ErrDataResponse(backend.StatusInternal, "exemplars: "+err.Error())
		}
		if ef != nil {
			frames = append(frames, ef)
		}
	}
	return backend.DataResponse{Frames: frames}
}

// execRange runs q as a range query, with the API's checks on its grid.
func (d *Datasource) execRange(ctx context.Context, q *query, opts promql.QueryOpts) (*promql.Result, error) {
	return d.core.Engine().RangeWithOpts(ctx, d.core.Queryable(), q.expr, q.start, q.end, q.step, opts)
}

// execInstant runs q as an instant query at its end.
func (d *Datasource) execInstant(ctx context.Context, q *query, opts promql.QueryOpts) (*promql.Result, error) {
	qry, err := d.core.Engine().NewInstantQuery(d.core.Queryable(), q.expr, q.end, opts)
	if err != nil {
		return nil, err
	}
	return qry.Exec(ctx)
}

// engineError maps the engine's error types to Grafana's statuses; errors in
// the query itself are the user's, the rest are Graft's.
func engineError(err error) backend.DataResponse {
	var pe *promql.Error
	if errors.As(err, &pe) {
		switch pe.Type {
		case promql.ErrBadData:
			return backend.ErrDataResponseWithSource(backend.StatusBadRequest, backend.ErrorSourceDownstream, err.Error())
		case promql.ErrTimeout:
			return backend.ErrDataResponse(backend.StatusTimeout, err.Error())
		case promql.ErrCanceled:
			return backend.ErrDataResponse(backend.StatusBadRequest, err.Error())
		}
	}
	return backend.ErrDataResponse(backend.StatusInternal, fmt.Sprintf("query failed: %v", err))
}

// annotationNotices shows the engine's warnings and infos on the panel.
func annotationNotices(res *promql.Result, expr string) []data.Notice {
	ws, infos := res.Warnings(expr)
	out := make([]data.Notice, 0, len(ws)+len(infos))
	for _, w := range ws {
		out = append(out, data.Notice{Severity: data.NoticeSeverityWarning, Text: w})
	}
	for _, i := range infos {
		out = append(out, data.Notice{Severity: data.NoticeSeverityInfo, Text: i})
	}
	return out
}
