package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/graftlabs/graft/pkg/promql"
)

func (a *API) query(w http.ResponseWriter, r *http.Request) {
	ts, err := parseTimeParam(r, "time", a.now())
	if err != nil {
		writeError(w, badData(err))
		return
	}
	a.runQuery(w, r, func(ctx context.Context) (*promql.Result, error) {
		return a.Engine.Instant(ctx, a.Storage, r.FormValue("query"), ts)
	})
}

func (a *API) queryRange(w http.ResponseWriter, r *http.Request) {
	start, end, step, err := parseRangeQuery(r)
	if err != nil {
		writeError(w, badData(err))
		return
	}
	a.runQuery(w, r, func(ctx context.Context) (*promql.Result, error) {
		return a.Engine.Range(ctx, a.Storage, r.FormValue("query"), start, end, step)
	})
}

// runQuery applies the timeout parameter, runs the query and writes its result.
func (a *API) runQuery(w http.ResponseWriter, r *http.Request, run func(ctx context.Context) (*promql.Result, error)) {
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
	warnings, _ := res.Warnings(r.FormValue("query"))
	defer res.Close() // after encoding
	writeData(w, queryData{value: res.Value}, warnings)
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
