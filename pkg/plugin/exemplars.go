package plugin

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// exemplarFrame returns the exemplars of the series the expression selects,
// within the query range, as Grafana's Prometheus datasource frames them:
// one long frame named "exemplar" with Time, Value and a string field per
// label. Nil when there are none.
//
// The frame carries no trace links: the frontend (@grafana/prometheus's
// result transform) adds them from the datasource's
// exemplarTraceIdDestinations, as for Grafana's Prometheus datasource, and
// appends them to any link already on the field, so links made here would
// show twice.
func (d *Datasource) exemplarFrame(ctx context.Context, q *query) (*data.Frame, error) {
	expr, err := parser.NewParser(parser.Options{}).ParseExpr(q.expr)
	if err != nil {
		return nil, err
	}
	eq, err := d.core.Exemplars().ExemplarQuerier(ctx)
	if err != nil {
		return nil, fmt.Errorf("open exemplar querier: %w", err)
	}
	results, err := eq.Select(q.start.UnixMilli(), q.end.UnixMilli(), parser.ExtractSelectors(expr)...)
	if err != nil {
		return nil, fmt.Errorf("select exemplars: %w", err)
	}
	rows := sampleExemplars(results, q.step)
	if len(rows) == 0 {
		return nil, nil
	}
	return d.frameExemplars(q, rows), nil
}

// exemplarRow is one exemplar with the labels of its series.
type exemplarRow struct {
	series labels.Labels
	e      exemplar.Exemplar
}

// sampleExemplars keeps, per series and step, the exemplar with the highest
// value: a panel cannot show more than one point per step anyway, and the
// slowest request is the one worth a trace.
func sampleExemplars(results []exemplar.QueryResult, step time.Duration) []exemplarRow {
	stepMs := max(step.Milliseconds(), 1)
	var rows []exemplarRow
	for _, r := range results {
		best := map[int64]exemplar.Exemplar{}
		for _, e := range r.Exemplars {
			b := e.Ts / stepMs
			if cur, ok := best[b]; !ok || e.Value > cur.Value {
				best[b] = e
			}
		}
		for _, e := range best {
			rows = append(rows, exemplarRow{series: r.SeriesLabels, e: e})
		}
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].e.Ts != rows[j].e.Ts {
			return rows[i].e.Ts < rows[j].e.Ts
		}
		return labels.Compare(rows[i].series, rows[j].series) < 0
	})
	return rows
}

func (d *Datasource) frameExemplars(q *query, rows []exemplarRow) *data.Frame {
	names := map[string]struct{}{}
	for _, r := range rows {
		r.series.Range(func(l labels.Label) { names[l.Name] = struct{}{} })
		r.e.Labels.Range(func(l labels.Label) { names[l.Name] = struct{}{} })
	}
	cols := make([]string, 0, len(names))
	for n := range names {
		cols = append(cols, n)
	}
	sort.Strings(cols)

	times := make([]time.Time, len(rows))
	values := make([]float64, len(rows))
	labelCols := make([][]string, len(cols))
	for i, r := range rows {
		times[i], values[i] = time.UnixMilli(r.e.Ts).UTC(), r.e.Value
		for c, name := range cols {
			v := r.e.Labels.Get(name)
			if v == "" {
				v = r.series.Get(name)
			}
			labelCols[c] = append(labelCols[c], v)
		}
	}
	fields := []*data.Field{
		data.NewField(data.TimeSeriesTimeFieldName, nil, times),
		data.NewField(data.TimeSeriesValueFieldName, nil, values),
	}
	for c, name := range cols {
		fields = append(fields, data.NewField(name, nil, labelCols[c]))
	}
	f := data.NewFrame("exemplar", fields...)
	f.RefID = q.refID
	f.Meta = &data.FrameMeta{Custom: map[string]string{"resultType": "exemplar"}}
	return f
}
