package monitoring

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/heatmap"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// PanelKind is the visualisation of a panel.
type PanelKind string

const (
	TimeSeries PanelKind = "timeseries"
	Stat       PanelKind = "stat"
	Heatmap    PanelKind = "heatmap"
	Table      PanelKind = "table"
)

// Query is one PromQL target of a panel.
type Query struct {
	Expr   string
	Legend string // {{label}} template; empty: the series' labels
	// Instant runs the query once at the end of the range (stats, tables).
	Instant bool
	// Exemplars asks for the exemplars of the series, which link to traces.
	Exemplars bool
	// Heatmap returns histogram buckets ordered by le, for heatmap panels.
	Heatmap bool
}

// Panel describes a panel; every panel has a unit and a description.
type Panel struct {
	Kind        PanelKind
	Title       string
	Description string
	Unit        string // a Grafana unit id: reqps, percentunit, s, bytes, short, ...
	Queries     []Query
	// Width and Height on the 24-column grid (defaults 8 x 8).
	Width, Height uint32
	// Min and Max pin the axis (nil: automatic).
	Min, Max *float64
	// Thresholds colour stats and draw lines: value -> colour, from low to
	// high; the base colour is green.
	Thresholds []Threshold
	// BaseColor is the colour below the first threshold (default green).
	BaseColor string
}

// Threshold is one step of a panel's thresholds.
type Threshold struct {
	Value float64
	Color string
}

// Ptr returns a pointer to v, for Panel.Min and Panel.Max.
func Ptr[T any](v T) *T { return &v }

func (p Panel) size() (w, h uint32) {
	w, h = p.Width, p.Height
	if w == 0 {
		w = 8
	}
	if h == 0 {
		h = 8
	}
	return w, h
}

// datasourceRef is the dashboard's datasource variable, so the same
// dashboard works on every Graft datasource of a Grafana.
func datasourceRef() common.DataSourceRef {
	return common.DataSourceRef{Type: Ptr(DatasourceType), Uid: Ptr("${" + VarDatasource + "}")}
}

func (q Query) builder(refID string) cog.Builder[variants.Dataquery] {
	b := prometheus.NewDataqueryBuilder().
		RefId(refID).
		Expr(q.Expr).
		Datasource(datasourceRef()).
		LegendFormat(legendOrAuto(q.Legend))
	switch {
	case q.Heatmap:
		b = b.Format(prometheus.PromQueryFormatHeatmap).Range()
	case q.Instant:
		b = b.Format(prometheus.PromQueryFormatTable).Instant()
	default:
		b = b.Format(prometheus.PromQueryFormatTimeSeries).Range()
	}
	if q.Exemplars {
		b = b.Exemplar(true)
	}
	return b
}

func legendOrAuto(l string) string {
	if l == "" {
		return "__auto"
	}
	return l
}

func (p Panel) targets() []cog.Builder[variants.Dataquery] {
	out := make([]cog.Builder[variants.Dataquery], len(p.Queries))
	for i, q := range p.Queries {
		out[i] = q.builder(string(rune('A' + i)))
	}
	return out
}

func (p Panel) thresholds() cog.Builder[dashboard.ThresholdsConfig] {
	base := p.BaseColor
	if base == "" {
		base = "green"
	}
	steps := []dashboard.Threshold{{Color: base}}
	for _, t := range p.Thresholds {
		steps = append(steps, dashboard.Threshold{Value: Ptr(t.Value), Color: t.Color})
	}
	return dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).Steps(steps)
}

// build turns the description into the SDK's panel, with id as its id.
func (p Panel) build(id uint32) (dashboard.Panel, error) {
	if p.Title == "" || p.Description == "" || p.Unit == "" {
		return dashboard.Panel{}, fmt.Errorf("panel %q: title, description and unit are required", p.Title)
	}
	if len(p.Queries) == 0 {
		return dashboard.Panel{}, fmt.Errorf("panel %q: no queries", p.Title)
	}
	w, h := p.size()
	var b cog.Builder[dashboard.Panel]
	switch p.Kind {
	case TimeSeries, "":
		ts := timeseries.NewPanelBuilder().Id(id).Title(p.Title).Description(p.Description).
			Unit(p.Unit).Span(w).Height(h).Datasource(datasourceRef()).Targets(p.targets()).
			Thresholds(p.thresholds()).FillOpacity(10).LineWidth(1).
			Legend(common.NewVizLegendOptionsBuilder().ShowLegend(true).
				DisplayMode(common.LegendDisplayModeTable).Placement(common.LegendPlacementBottom).
				Calcs([]string{"mean", "max", "lastNotNull"})).
			Tooltip(common.NewVizTooltipOptionsBuilder().Mode(common.TooltipDisplayModeMulti).Sort(common.SortOrderDescending))
		if len(p.Thresholds) > 0 {
			ts = ts.ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeLine))
		}
		if p.Min != nil {
			ts = ts.Min(*p.Min)
		}
		if p.Max != nil {
			ts = ts.Max(*p.Max)
		}
		b = ts
	case Stat:
		st := stat.NewPanelBuilder().Id(id).Title(p.Title).Description(p.Description).
			Unit(p.Unit).Span(w).Height(h).Datasource(datasourceRef()).Targets(p.targets()).
			Thresholds(p.thresholds()).ColorMode(common.BigValueColorModeValue).
			GraphMode(common.BigValueGraphModeArea).
			ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}))
		if p.Min != nil {
			st = st.Min(*p.Min)
		}
		if p.Max != nil {
			st = st.Max(*p.Max)
		}
		b = st
	case Table:
		b = table.NewPanelBuilder().Id(id).Title(p.Title).Description(p.Description).
			Unit(p.Unit).Span(w).Height(h).Datasource(datasourceRef()).Targets(p.targets()).
			Thresholds(p.thresholds())
	case Heatmap:
		b = heatmap.NewPanelBuilder().Id(id).Title(p.Title).Description(p.Description).
			Unit(p.Unit).Span(w).Height(h).Datasource(datasourceRef()).Targets(p.targets()).
			Calculate(false).
			YAxis(heatmap.NewYAxisConfigBuilder().Unit(p.Unit)).
			CellValues(heatmap.NewCellValuesBuilder().Unit("reqps")).
			Color(heatmap.NewHeatmapColorOptionsBuilder().Mode(heatmap.HeatmapColorModeScheme).
				Scheme("Spectral").Scale(heatmap.HeatmapColorScaleExponential).Exponent(0.5).Steps(64).Fill("dark-orange")).
			ExemplarsColor("rgba(255,0,255,0.7)").
			RowsFrame(heatmap.NewRowsHeatmapOptionsBuilder().Layout(common.HeatmapCellLayoutLe)).
			ShowValue(common.VisibilityModeNever).
			Tooltip(heatmap.NewHeatmapTooltipBuilder().Mode(common.TooltipDisplayModeSingle).YHistogram(true)).
			ShowLegend()
	default:
		return dashboard.Panel{}, fmt.Errorf("panel %q: unknown kind %q", p.Title, p.Kind)
	}
	panel, err := b.Build()
	if err != nil {
		return dashboard.Panel{}, fmt.Errorf("panel %q: %w", p.Title, err)
	}
	return panel, nil
}
