// Package plugin adapts Graft's core to Grafana's backend plugin protocol:
// QueryData, CheckHealth and CallResource. It translates Grafana's query
// model into engine calls and engine results into data frames; it holds no
// query or storage logic of its own.
package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/datasource"
	"github.com/grafana/grafana-plugin-sdk-go/backend/gtime"
	"github.com/grafana/grafana-plugin-sdk-go/backend/instancemgmt"
	"github.com/grafana/grafana-plugin-sdk-go/backend/resource/httpadapter"

	"github.com/graftlabs/graft/pkg/core"
	"github.com/graftlabs/graft/pkg/promql"
	"github.com/graftlabs/graft/pkg/storage"
)

// PluginID is the id in plugin.json.
const PluginID = "graftlabs-graft-datasource"

// Core is what a datasource instance needs from the running core.
type Core interface {
	Engine() *promql.Engine
	Queryable() storage.Queryable
	Exemplars() storage.ExemplarQueryable
	Health() core.Health
	APIHandler() http.Handler
}

// Settings are the part of the datasource's jsonData the backend reads; the
// rest (exemplarTraceIdDestinations, the query editor's settings) is the
// frontend's. Secrets stay in secureJsonData and are never read into this
// struct.
type Settings struct {
	// TimeInterval is the scrape interval Grafana assumes for $__rate_interval
	// and the minimum step ("15s" when empty).
	TimeInterval string `json:"timeInterval"`
	// QueryTimeout bounds each query ("" means the engine's default).
	QueryTimeout string `json:"queryTimeout"`
	// MaxSourceResolution is the coarsest downsampled data panels read:
	// auto (the default: a fifth of the step), raw, or a duration.
	MaxSourceResolution string `json:"maxSourceResolution"`
}

// Datasource is one Grafana datasource: a query-side view onto the core.
// Disposing it never stops the core.
type Datasource struct {
	core       Core
	startErr   error
	settings   Settings
	timeout    time.Duration
	resolution resolutionChoice
	resources  backend.CallResourceHandler
}

var (
	_ backend.QueryDataHandler      = (*Datasource)(nil)
	_ backend.CheckHealthHandler    = (*Datasource)(nil)
	_ backend.CallResourceHandler   = (*Datasource)(nil)
	_ instancemgmt.InstanceDisposer = (*Datasource)(nil)
)

// NewFactory returns the instance factory for datasource.Manage. startErr,
// when set, is why the core could not start: every instance reports it
// instead of querying.
func NewFactory(c Core, startErr error) datasource.InstanceFactoryFunc {
	return func(_ context.Context, s backend.DataSourceInstanceSettings) (instancemgmt.Instance, error) {
		return newDatasource(c, startErr, s)
	}
}

func newDatasource(c Core, startErr error, s backend.DataSourceInstanceSettings) (*Datasource, error) {
	var settings Settings
	if len(s.JSONData) > 0 {
		if err := json.Unmarshal(s.JSONData, &settings); err != nil {
			return nil, fmt.Errorf("parse datasource settings: %w", err)
		}
	}
	if settings.TimeInterval == "" {
		settings.TimeInterval = "15s"
	}
	if _, err := gtime.ParseIntervalStringToTimeDuration(settings.TimeInterval); err != nil {
		return nil, fmt.Errorf("invalid scrape interval %q: %w", settings.TimeInterval, err)
	}
	res, err := parseResolutionChoice(settings.MaxSourceResolution)
	if err != nil {
		return nil, err
	}
	ds := &Datasource{core: c, startErr: startErr, settings: settings, resolution: res}
	if settings.QueryTimeout != "" {
		d, err := gtime.ParseDuration(settings.QueryTimeout)
		if err != nil {
			return nil, fmt.Errorf("invalid query timeout %q: %w", settings.QueryTimeout, err)
		}
		ds.timeout = d
	}
	if c != nil {
		ds.resources = httpadapter.New(c.APIHandler())
	}
	return ds, nil
}

// Dispose is called when Grafana drops or replaces the instance. The core is
// shared by every instance and keeps running.
func (d *Datasource) Dispose() {}

// CallResource answers the Prometheus HTTP API paths (api/v1/...).
func (d *Datasource) CallResource(ctx context.Context, req *backend.CallResourceRequest, sender backend.CallResourceResponseSender) error {
	if d.startErr != nil {
		body, _ := json.Marshal(map[string]string{"status": "error", "errorType": "unavailable", "error": d.startErr.Error()})
		return sender.Send(&backend.CallResourceResponse{
			Status:  http.StatusServiceUnavailable,
			Headers: map[string][]string{"Content-Type": {"application/json"}},
			Body:    body,
		})
	}
	return d.resources.CallResource(ctx, req, sender)
}

// CheckHealth reports the core's state: targets up and down, series, config errors.
func (d *Datasource) CheckHealth(_ context.Context, _ *backend.CheckHealthRequest) (*backend.CheckHealthResult, error) {
	if d.startErr != nil {
		return &backend.CheckHealthResult{Status: backend.HealthStatusError, Message: "Graft core did not start: " + d.startErr.Error()}, nil
	}
	h := d.core.Health()
	details, _ := json.Marshal(h)
	status := backend.HealthStatusOk
	if !h.Healthy() {
		status = backend.HealthStatusError
	}
	return &backend.CheckHealthResult{Status: status, Message: h.Summary(), JSONDetails: details}, nil
}
