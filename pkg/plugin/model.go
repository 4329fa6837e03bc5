package plugin

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

// Query formats Grafana's Prometheus-style query editor offers.
const (
	formatTimeSeries = "time_series"
	formatTable      = "table"
	formatHeatmap    = "heatmap"
)

// legendAuto is the legend Grafana stores for "Auto": labels only.
const legendAuto = "__auto"

// queryModel is the JSON of one panel query.
type queryModel struct {
	Expr           string `json:"expr"`
	LegendFormat   string `json:"legendFormat"`
	Format         string `json:"format"`
	Range          bool   `json:"range"`
	Instant        bool   `json:"instant"`
	Exemplar       bool   `json:"exemplar"`
	Interval       string `json:"interval"` // min step, may be $__interval etc.
	IntervalFactor int64  `json:"intervalFactor"`
	UtcOffsetSec   int64  `json:"utcOffsetSec"`
	// AdhocFilters are the dashboard's ad-hoc filters, added to every selector.
	AdhocFilters []adhocFilter `json:"adhocFilters"`
	// MaxSourceResolution overrides the datasource's setting: auto, raw,
	// or a duration such as 5m.
	MaxSourceResolution string `json:"maxSourceResolution"`
}

// query is a panel query ready to run: variables interpolated, step chosen,
// range aligned.
type query struct {
	refID        string
	expr         string
	legendFormat string
	format       string
	rangeQuery   bool
	instant      bool
	exemplar     bool
	start, end   time.Time
	step         time.Duration
	// maxSourceResolution is the query's own choice; "" for the datasource's.
	maxSourceResolution string
}

// parseQuery turns a Grafana DataQuery into a query. scrapeInterval is the
// datasource's timeInterval.
func parseQuery(dq backend.DataQuery, scrapeInterval string) (*query, error) {
	var m queryModel
	if err := json.Unmarshal(dq.JSON, &m); err != nil {
		return nil, fmt.Errorf("parse query JSON: %w", err)
	}
	if m.Expr == "" {
		return nil, fmt.Errorf("query %s has an empty expression", dq.RefID)
	}
	step, err := calculateStep(m, dq, scrapeInterval)
	if err != nil {
		return nil, err
	}
	expr, err := applyAdhocFilters(interpolate(m.Expr, dq, step, m.Interval, scrapeInterval), m.AdhocFilters)
	if err != nil {
		return nil, err
	}
	if !m.Range && !m.Instant {
		m.Range = true // older dashboards set neither and meant range
	}
	format := m.Format
	if format == "" {
		format = formatTimeSeries
	}
	return &query{
		refID:        dq.RefID,
		expr:         expr,
		legendFormat: m.LegendFormat,
		format:       format,
		rangeQuery:   m.Range,
		instant:      m.Instant,
		exemplar:     m.Exemplar,
		start:        alignTime(dq.TimeRange.From, step, m.UtcOffsetSec),
		end:          alignTime(dq.TimeRange.To, step, m.UtcOffsetSec),
		step:         step,

		maxSourceResolution: m.MaxSourceResolution,
	}, nil
}
