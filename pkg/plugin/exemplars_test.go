package plugin

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/labels"
)

func TestExemplarFrame(t *testing.T) {
	// Trace destinations configured, as in provisioning/datasources/graft.yaml.
	ds, err := newDatasource(newTestDatasource(t).core, nil, backend.DataSourceInstanceSettings{JSONData: []byte(`{
		"exemplarTraceIdDestinations": [
			{"name": "trace_id", "datasourceUid": "tempo"},
			{"name": "trace_id", "url": "https://traces.example/${__value.raw}", "urlDisplayLabel": "Open"}
		]}`)})
	if err != nil {
		t.Fatal(err)
	}
	store := ds.core.(*testCore).store
	app := store.Appender(context.Background())
	series := labels.FromStrings("__name__", "reqs_total", "job", "api", "instance", "a:1")
	// Two exemplars in the same 15s step: only the larger is kept.
	for _, e := range []exemplar.Exemplar{
		{Labels: labels.FromStrings("trace_id", "t1"), Value: 0.2, Ts: base.Add(-2 * time.Minute).UnixMilli(), HasTs: true},
		{Labels: labels.FromStrings("trace_id", "t2"), Value: 0.9, Ts: base.Add(-2*time.Minute + 5*time.Second).UnixMilli(), HasTs: true},
		{Labels: labels.FromStrings("trace_id", "t3"), Value: 0.1, Ts: base.Add(-time.Minute).UnixMilli(), HasTs: true},
	} {
		if _, err := app.AppendExemplar(0, series, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}

	resp, err := ds.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{
		panelQuery("A", map[string]any{"expr": `sum(rate(reqs_total{instance="a:1"}[1m]))`, "exemplar": true}),
	}})
	if err != nil {
		t.Fatal(err)
	}
	r := resp.Responses["A"]
	if r.Error != nil {
		t.Fatal(r.Error)
	}
	var ex *data.Frame
	for _, f := range r.Frames {
		if f.Name == "exemplar" {
			ex = f
		}
	}
	if ex == nil {
		t.Fatalf("no exemplar frame among %d frames", len(r.Frames))
	}
	if ex.Meta.Custom.(map[string]string)["resultType"] != "exemplar" {
		t.Errorf("meta = %+v", ex.Meta)
	}
	if ex.Rows() != 2 {
		t.Fatalf("%d exemplars, want 2 (one per step)", ex.Rows())
	}
	traceField, _ := ex.FieldByName("trace_id")
	if traceField == nil || traceField.At(0) != "t2" || traceField.At(1) != "t3" {
		t.Fatalf("trace ids %v", traceField)
	}
	if instance, _ := ex.FieldByName("instance"); instance == nil || instance.At(0) != "a:1" {
		t.Error("series labels missing from the exemplar frame")
	}
	// Trace links are the frontend's (from exemplarTraceIdDestinations): the
	// frame has none, so that each shows once.
	for _, f := range ex.Fields {
		if f.Config != nil && len(f.Config.Links) > 0 {
			b, _ := json.Marshal(f.Config.Links)
			t.Errorf("field %s has links %s", f.Name, b)
		}
	}
	// Without the exemplar flag there is no exemplar frame.
	resp, _ = ds.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{
		panelQuery("A", map[string]any{"expr": `sum(rate(reqs_total[1m]))`}),
	}})
	for _, f := range resp.Responses["A"].Frames {
		if f.Name == "exemplar" {
			t.Error("exemplar frame without the exemplar flag")
		}
	}
}
