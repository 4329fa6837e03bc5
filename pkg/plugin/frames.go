package plugin

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/promql"
)

// toFrames converts an engine result into dataplane frames: one
// timeseries-multi frame per series with a Time and a Value field, the
// series labels on the Value field. Table format gives one frame with a
// column per label instead.
func toFrames(q *query, v promql.Value, kind string) data.Frames {
	var series []promql.Series
	resultType := string(v.Type())
	switch val := v.(type) {
	case promql.Matrix:
		series = val
	case promql.Vector:
		for _, s := range val {
			series = append(series, promql.Series{Metric: s.Metric, Floats: []promql.FPoint{{T: s.T, F: s.F}}})
		}
	case promql.Scalar:
		series = []promql.Series{{Metric: labels.EmptyLabels(), Floats: []promql.FPoint{{T: val.T, F: val.V}}}}
	case promql.String:
		return data.Frames{stringFrame(q, val)}
	}
	if q.format == formatHeatmap {
		sortByLe(series)
	}
	if q.format == formatTable {
		return data.Frames{tableFrame(q, series, resultType)}
	}
	frames := make(data.Frames, 0, len(series))
	for _, s := range series {
		frames = append(frames, seriesFrame(q, s, resultType, kind))
	}
	return frames
}

func seriesFrame(q *query, s promql.Series, resultType, kind string) *data.Frame {
	times := make([]time.Time, len(s.Floats))
	values := make([]float64, len(s.Floats))
	for i, p := range s.Floats {
		times[i] = time.UnixMilli(p.T).UTC()
		values[i] = p.F
	}
	timeField := data.NewField(data.TimeSeriesTimeFieldName, nil, times)
	timeField.Config = &data.FieldConfig{Interval: float64(q.step.Milliseconds())}
	valueField := data.NewField(data.TimeSeriesValueFieldName, data.Labels(s.Metric.Map()), values)
	if name := displayName(q, s.Metric); name != "" {
		valueField.Config = &data.FieldConfig{DisplayNameFromDS: name}
	}
	f := data.NewFrame("", timeField, valueField)
	f.RefID = q.refID
	f.Meta = &data.FrameMeta{
		Type:        data.FrameTypeTimeSeriesMulti,
		TypeVersion: data.FrameTypeVersion{0, 1},
		Custom:      map[string]string{"resultType": resultType, "queryType": kind},
	}
	return f
}

// tableFrame lays out every sample as a row: Time, one column per label,
// then "Value #<refId>", as Grafana's Prometheus table format does.
func tableFrame(q *query, series []promql.Series, resultType string) *data.Frame {
	names := map[string]struct{}{}
	for _, s := range series {
		s.Metric.Range(func(l labels.Label) { names[l.Name] = struct{}{} })
	}
	cols := make([]string, 0, len(names))
	for n := range names {
		cols = append(cols, n)
	}
	sort.Strings(cols)

	var times []time.Time
	var values []float64
	labelCols := make([][]string, len(cols))
	for _, s := range series {
		for _, p := range s.Floats {
			times = append(times, time.UnixMilli(p.T).UTC())
			values = append(values, p.F)
			for i, c := range cols {
				labelCols[i] = append(labelCols[i], s.Metric.Get(c))
			}
		}
	}
	fields := []*data.Field{data.NewField("Time", nil, times)}
	for i, c := range cols {
		fields = append(fields, data.NewField(c, nil, labelCols[i]))
	}
	fields = append(fields, data.NewField("Value #"+q.refID, nil, values))
	f := data.NewFrame("", fields...)
	f.RefID = q.refID
	f.Meta = &data.FrameMeta{Custom: map[string]string{"resultType": resultType}}
	return f
}

func stringFrame(q *query, s promql.String) *data.Frame {
	f := data.NewFrame("",
		data.NewField(data.TimeSeriesTimeFieldName, nil, []time.Time{time.UnixMilli(s.T).UTC()}),
		data.NewField(data.TimeSeriesValueFieldName, nil, []string{s.V}),
	)
	f.RefID = q.refID
	f.Meta = &data.FrameMeta{Custom: map[string]string{"resultType": "string"}}
	return f
}

// finishFrames puts the executed query and notices on the first frame, and
// adds an empty frame when there is no data so that the metadata still shows.
func finishFrames(q *query, frames data.Frames, notices []data.Notice) data.Frames {
	if len(frames) == 0 {
		f := data.NewFrame("")
		f.RefID = q.refID
		f.Meta = &data.FrameMeta{Type: data.FrameTypeTimeSeriesMulti, TypeVersion: data.FrameTypeVersion{0, 1}}
		frames = append(frames, f)
	}
	if frames[0].Meta == nil {
		frames[0].Meta = &data.FrameMeta{}
	}
	frames[0].Meta.ExecutedQueryString = "Expr: " + q.expr + "\nStep: " + q.step.String()
	frames[0].Meta.Notices = append(frames[0].Meta.Notices, notices...)
	return frames
}

var legendTemplate = regexp.MustCompile(`\{\{\s*(.+?)\s*\}\}`)

// displayName applies the legend format: {{label}} templates, "__auto" for
// labels only (Grafana's own naming), empty for the Prometheus-style series
// name; a series without labels is named after the expression.
func displayName(q *query, metric labels.Labels) string {
	var legend string
	switch q.legendFormat {
	case legendAuto:
		if metric.Len() > 0 {
			return ""
		}
		legend = "{}"
	case "":
		legend = seriesName(metric)
	default:
		legend = legendTemplate.ReplaceAllStringFunc(q.legendFormat, func(m string) string {
			return metric.Get(legendTemplate.FindStringSubmatch(m)[1])
		})
	}
	if legend == "{}" {
		return q.expr
	}
	return legend
}

// seriesName formats labels as Prometheus does: name{a="1", b="2"}.
func seriesName(metric labels.Labels) string {
	name := metric.Get(labels.MetricName)
	var parts []string
	metric.Range(func(l labels.Label) {
		if l.Name != labels.MetricName {
			parts = append(parts, l.Name+"="+strconv.Quote(l.Value))
		}
	})
	if len(parts) == 0 {
		if name != "" {
			return name
		}
		return "{}"
	}
	return name + "{" + strings.Join(parts, ", ") + "}"
}

// sortByLe orders histogram bucket series by their upper bound, as heatmaps need.
func sortByLe(series []promql.Series) {
	le := func(s promql.Series) float64 {
		v, err := strconv.ParseFloat(s.Metric.Get("le"), 64)
		if err != nil {
			return 0
		}
		return v
	}
	sort.SliceStable(series, func(i, j int) bool { return le(series[i]) < le(series[j]) })
}
