package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/graftlabs/graft/pkg/promql"
	"github.com/graftlabs/graft/pkg/storage"
)

// queryParams are the parameters /query and /query_range share.
type queryParams struct {
	query    string
	limit    int    // series returned at most; 0: all
	stats    string // "" (none), "all", or anything else (summary)
	lookback time.Duration
	maxRes   time.Duration // max_source_resolution; 0: raw samples
}

func (p queryParams) opts() promql.QueryOpts {
	return promql.QueryOpts{LookbackDelta: p.lookback, MaxResolution: p.maxRes}
}

// readQueryParams reads the shared parameters; step is the range query's
// (0 for an instant query), for max_source_resolution=auto.
func readQueryParams(r *http.Request, step time.Duration) (queryParams, error) {
	p := queryParams{query: r.FormValue("query"), stats: r.FormValue("stats")}
	if v := r.FormValue("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return p, errors.New(`invalid parameter "limit": limit must be a non-negative number`)
		}
		p.limit = n
	}
	if v := r.FormValue("lookback_delta"); v != "" {
		d, err := parseDuration(v)
		if err != nil {
			return p, fmt.Errorf(`invalid parameter "lookback_delta": %w`, err)
		}
		p.lookback = d
	}
	res, err := maxSourceResolution(r.FormValue("max_source_resolution"), step)
	if err != nil {
		return p, fmt.Errorf(`invalid parameter "max_source_resolution": %w`, err)
	}
	p.maxRes = res
	return p, nil
}

// maxSourceResolution reads Thanos's parameter: raw (or 0s, or absent) for
// raw samples only, a duration, or auto: a fifth of the step, so that at
// least five points fall in a step (raw for an instant query, as Thanos's
// default for them).
func maxSourceResolution(v string, step time.Duration) (time.Duration, error) {
	switch v {
	case "", "raw":
		return 0, nil
	case "auto":
		return step / 5, nil
	}
	d, err := parseDuration(v)
	if err != nil {
		return 0, err
	}
	if d < 0 {
		return 0, errors.New("negative resolutions are not accepted")
	}
	return d, nil
}

func (a *API) query(w http.ResponseWriter, r *http.Request) {
	ts, err := parseTimeParam(r, "time", a.now())
	if err != nil {
		writeError(w, badData(err))
		return
	}
	p, err := readQueryParams(r, 0)
	if err != nil {
		writeError(w, badData(err))
		return
	}
	a.runQuery(w, r, p, func() (*promql.Query, error) {
		return a.Engine.NewInstantQuery(a.Storage, p.query, ts, p.opts())
	})
}

func (a *API) queryRange(w http.ResponseWriter, r *http.Request) {
	start, end, step, err := parseRangeQuery(r)
	if err != nil {
		writeError(w, badData(err))
		return
	}
	p, err := readQueryParams(r, step)
	if err != nil {
		writeError(w, badData(err))
		return
	}
	a.runResult(w, r, p, func(ctx context.Context) (*promql.Result, error) {
		return a.ranges().Range(ctx, p.query, start, end, step, p.opts())
	})
}

// ranges is what answers range queries: Ranges, or the engine.
func (a *API) ranges() RangeQuerier {
	if a.Ranges != nil {
		return a.Ranges
	}
	return engineRanges{engine: a.Engine, storage: a.Storage}
}

type engineRanges struct {
	engine  *promql.Engine
	storage storage.Queryable
}

func (e engineRanges) Range(ctx context.Context, query string, start, end time.Time, step time.Duration, opts promql.QueryOpts) (*promql.Result, error) {
	return e.engine.RangeWithOpts(ctx, e.storage, query, start, end, step, opts)
}

// runQuery prepares and runs a query of the engine: see runResult.
func (a *API) runQuery(w http.ResponseWriter, r *http.Request, p queryParams, prepare func() (*promql.Query, error)) {
	a.runResult(w, r, p, func(ctx context.Context) (*promql.Result, error) {
		qry, err := prepare()
		if err != nil {
			return nil, err
		}
		return qry.Exec(ctx)
	})
}

// runResult applies the timeout parameter, runs the query and writes its
// result, with stats when asked and the series limit applied.
func (a *API) runResult(w http.ResponseWriter, r *http.Request, p queryParams, run func(context.Context) (*promql.Result, error)) {
	ctx, cancel, err := withTimeoutParam(r)
	if err != nil {
		writeError(w, badData(err))
		return
	}
	defer cancel()
	res, err := run(ctx)
	if err != nil {
		writeError(w, fromEngine(err))
		return
	}
	defer res.Close() // after encoding
	warnings, infos := res.Warnings(p.query)
	val, truncated := truncateResult(res.Value, p.limit)
	if truncated {
		warnings = append(warnings, "results truncated due to limit")
	}
	data := queryData{value: val}
	if p.stats != "" {
		data.stats = newQueryStats(res.Stats)
	}
	writeJSON(w, http.StatusOK, envelope{Status: "success", Data: data, Warnings: warnings, Infos: infos})
}

// truncateResult keeps the first limit series of a vector or matrix.
func truncateResult(v promql.Value, limit int) (promql.Value, bool) {
	if limit <= 0 {
		return v, false
	}
	switch v := v.(type) {
	case promql.Vector:
		if len(v) > limit {
			return v[:limit], true
		}
	case promql.Matrix:
		if len(v) > limit {
			return v[:limit], true
		}
	}
	return v, false
}

// queryStats is the "stats" object of a query response.
type queryStats struct {
	Timings queryTimings `json:"timings"`
	Samples querySamples `json:"samples"`
}

type queryTimings struct {
	EvalTotalTime        float64 `json:"evalTotalTime"`
	ResultSortTime       float64 `json:"resultSortTime"`
	QueryPreparationTime float64 `json:"queryPreparationTime"`
	InnerEvalTime        float64 `json:"innerEvalTime"`
	ExecQueueTime        float64 `json:"execQueueTime"`
	ExecTotalTime        float64 `json:"execTotalTime"`
}

type querySamples struct {
	TotalQueryableSamples int64 `json:"totalQueryableSamples"`
	PeakSamples           int   `json:"peakSamples"`
}

func newQueryStats(s promql.Stats) *queryStats {
	return &queryStats{
		Timings: queryTimings{
			EvalTotalTime:        s.EvalTime,
			QueryPreparationTime: s.PrepareTime,
			InnerEvalTime:        s.EvalTime,
			ExecQueueTime:        s.QueueTime,
			ExecTotalTime:        s.QueueTime + s.EvalTime,
		},
		Samples: querySamples{TotalQueryableSamples: s.TotalSamples, PeakSamples: s.PeakSamples},
	}
}

// parseRangeQuery reads start, end and step; all three are required.
func parseRangeQuery(r *http.Request) (start, end time.Time, step time.Duration, err error) {
	for _, name := range []string{"start", "end", "step"} {
		if r.FormValue(name) == "" {
			return start, end, step, errors.New(`invalid parameter "` + name + `": parameter missing`)
		}
	}
	if start, err = parseTimeParam(r, "start", time.Time{}); err != nil {
		return
	}
	if end, err = parseTimeParam(r, "end", time.Time{}); err != nil {
		return
	}
	if step, err = parseDuration(r.FormValue("step")); err != nil {
		err = errors.New(`invalid parameter "step": ` + err.Error())
	}
	return
}

// withTimeoutParam applies the optional timeout parameter to the request context.
func withTimeoutParam(r *http.Request) (context.Context, context.CancelFunc, error) {
	v := r.FormValue("timeout")
	if v == "" {
		ctx, cancel := context.WithCancel(r.Context())
		return ctx, cancel, nil
	}
	d, err := parseDuration(v)
	if err != nil {
		return nil, nil, errors.New(`invalid parameter "timeout": ` + err.Error())
	}
	ctx, cancel := context.WithTimeout(r.Context(), d)
	return ctx, cancel, nil
}
