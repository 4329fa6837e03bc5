// Package api serves the Prometheus HTTP API v1 over Graft's core: the same
// handlers answer the standalone server and the plugin's CallResource. It
// translates requests and results; query and storage logic live below it.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/graftlabs/graft/pkg/promql"
	"github.com/graftlabs/graft/pkg/scrape"
	"github.com/graftlabs/graft/pkg/storage"
	"github.com/graftlabs/graft/pkg/version"
)

// TargetSource reports scrape targets for /api/v1/targets.
type TargetSource interface {
	Targets() []scrape.TargetStatus
	DroppedTargets() []scrape.DroppedTarget
}

// API holds what the handlers need from the core.
type API struct {
	Storage storage.Queryable
	Engine  *promql.Engine
	Targets TargetSource
	Rules   RuleSource
	// Optional parts: without them the endpoints answer empty.
	Exemplars storage.ExemplarQueryable
	Metadata  MetadataSource
	// Admin enables the admin endpoints (nil: "admin APIs disabled").
	Admin *Admin
	// Ranges answers query_range, a results cache say (nil: the engine
	// over Storage).
	Ranges RangeQuerier
	Logger *slog.Logger
	// Now is the clock for default query times (nil: time.Now).
	Now func() time.Time
}

// RangeQuerier evaluates range queries as Engine.NewRangeQuery does.
type RangeQuerier interface {
	Range(ctx context.Context, query string, start, end time.Time, step time.Duration, opts promql.QueryOpts) (*promql.Result, error)
}

// Handler returns the routes of /api/v1/.
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()
	getPost := func(path string, h http.HandlerFunc) {
		mux.HandleFunc("GET "+path, h)
		mux.HandleFunc("POST "+path, h)
	}
	getPost("/api/v1/query", a.query)
	getPost("/api/v1/query_range", a.queryRange)
	getPost("/api/v1/query_exemplars", a.queryExemplars)
	getPost("/api/v1/format_query", a.formatQuery)
	getPost("/api/v1/labels", a.labelNames)
	mux.HandleFunc("GET /api/v1/label/{name}/values", a.labelValues)
	getPost("/api/v1/series", a.series)
	mux.HandleFunc("GET /api/v1/targets", a.targets)
	mux.HandleFunc("GET /api/v1/metadata", a.metadata)
	mux.HandleFunc("GET /api/v1/status/buildinfo", a.buildInfo)
	if a.Rules != nil {
		mux.HandleFunc("GET /api/v1/rules", a.rulesHandler)
		mux.HandleFunc("GET /api/v1/alerts", a.alertsHandler)
	}
	mux.HandleFunc("GET /api/v1/status/tsdb", a.tsdbStatus)
	a.adminRoutes(mux)
	mux.HandleFunc("/api/v1/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &apiError{typ: errorNotFound, err: errors.New("unknown API endpoint " + r.URL.Path)})
	})
	return mux
}

func (a *API) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *API) buildInfo(w http.ResponseWriter, _ *http.Request) {
	writeData(w, version.Get(), nil)
}

// errorType is Prometheus's errorType field.
type errorType string

const (
	errorBadData     errorType = "bad_data"
	errorExecution   errorType = "execution"
	errorTimeout     errorType = "timeout"
	errorCanceled    errorType = "canceled"
	errorInternal    errorType = "internal"
	errorNotFound    errorType = "not_found"
	errorUnavailable errorType = "unavailable"
)

type apiError struct {
	typ errorType
	err error
}

func (e *apiError) Error() string { return string(e.typ) + ": " + e.err.Error() }

func badData(err error) *apiError { return &apiError{typ: errorBadData, err: err} }

// fromEngine maps the engine's error types onto the API's.
func fromEngine(err error) *apiError {
	var pe *promql.Error
	if errors.As(err, &pe) {
		switch pe.Type {
		case promql.ErrBadData:
			return &apiError{typ: errorBadData, err: err}
		case promql.ErrTimeout:
			return &apiError{typ: errorTimeout, err: err}
		case promql.ErrCanceled:
			return &apiError{typ: errorCanceled, err: err}
		}
		return &apiError{typ: errorExecution, err: err}
	}
	return &apiError{typ: errorInternal, err: err}
}

func (e *apiError) status() int {
	switch e.typ {
	case errorBadData:
		return http.StatusBadRequest
	case errorExecution:
		return http.StatusUnprocessableEntity
	case errorTimeout, errorCanceled, errorUnavailable:
		return http.StatusServiceUnavailable
	case errorNotFound:
		return http.StatusNotFound
	}
	return http.StatusInternalServerError
}

type envelope struct {
	Status    string    `json:"status"`
	Data      any       `json:"data,omitempty"`
	ErrorType errorType `json:"errorType,omitempty"`
	Error     string    `json:"error,omitempty"`
	Warnings  []string  `json:"warnings,omitempty"`
	Infos     []string  `json:"infos,omitempty"`
}

func writeData(w http.ResponseWriter, data any, warnings []string) {
	writeJSON(w, http.StatusOK, envelope{Status: "success", Data: data, Warnings: warnings})
}

func writeError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.status(), envelope{Status: "error", ErrorType: e.typ, Error: e.err.Error()})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
