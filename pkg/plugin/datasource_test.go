package plugin

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/api"
	"github.com/graftlabs/graft/pkg/core"
	"github.com/graftlabs/graft/pkg/promql"
	"github.com/graftlabs/graft/pkg/storage"
	"github.com/graftlabs/graft/pkg/storage/memstore"
)

// testCore is a Core over a memstore with a real engine.
type testCore struct {
	store  *memstore.Store
	engine *promql.Engine
	health core.Health
}

func (c *testCore) Engine() *promql.Engine               { return c.engine }
func (c *testCore) Queryable() storage.Queryable         { return c.store }
func (c *testCore) Exemplars() storage.ExemplarQueryable { return c.store }
func (c *testCore) Health() core.Health                  { return c.health }
func (c *testCore) APIHandler() http.Handler {
	return (&api.API{Storage: c.store, Engine: c.engine}).Handler()
}

// base is the end of the test data: 2026-01-01T00:10:00Z.
var base = time.Date(2026, 1, 1, 0, 10, 0, 0, time.UTC)

// newTestDatasource loads two counters growing 1/s and 2/s, sampled every
// 15s over the 10 minutes before base.
func newTestDatasource(t *testing.T) *Datasource {
	t.Helper()
	store := memstore.New()
	app := store.Appender(context.Background())
	for i := 0; i <= 40; i++ {
		ts := base.Add(-10 * time.Minute).Add(time.Duration(i) * 15 * time.Second).UnixMilli()
		for _, s := range []struct {
			inst string
			per  float64
		}{{"a:1", 1}, {"b:1", 2}} {
			l := labels.FromStrings("__name__", "reqs_total", "job", "api", "instance", s.inst)
			if _, err := app.Append(0, l, ts, float64(i)*15*s.per); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	c := &testCore{store: store, engine: promql.NewEngine(promql.EngineOpts{}), health: core.Health{Running: true, TargetsUp: 2}}
	ds, err := newDatasource(c, nil, backend.DataSourceInstanceSettings{JSONData: []byte(`{"timeInterval":"15s"}`)})
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func panelQuery(refID string, model map[string]any) backend.DataQuery {
	b, _ := json.Marshal(model)
	return backend.DataQuery{
		RefID: refID, JSON: b, Interval: 15 * time.Second, MaxDataPoints: 100,
		TimeRange: backend.TimeRange{From: base.Add(-5 * time.Minute), To: base},
	}
}

func TestQueryDataFrames(t *testing.T) {
	ds := newTestDatasource(t)
	resp, err := ds.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{
		panelQuery("A", map[string]any{"expr": "reqs_total", "legendFormat": "{{instance}}"}),
		panelQuery("B", map[string]any{"expr": "sum by (job) (rate(reqs_total[1m]))", "legendFormat": "__auto"}),
		panelQuery("C", map[string]any{"expr": "sum(rate(reqs_total[1m])) by", "range": true}),
		panelQuery("D", map[string]any{"expr": "reqs_total", "instant": true, "range": false, "format": "table"}),
	}})
	if err != nil {
		t.Fatal(err)
	}

	a := resp.Responses["A"]
	if a.Error != nil || len(a.Frames) != 2 {
		t.Fatalf("A: err %v, %d frames", a.Error, len(a.Frames))
	}
	f := a.Frames[0]
	if f.Meta.Type != data.FrameTypeTimeSeriesMulti || f.Fields[0].Name != "Time" || f.Fields[1].Name != "Value" {
		t.Fatalf("A: frame shape %v %v", f.Meta.Type, fieldNames(f))
	}
	if f.Fields[1].Config.DisplayNameFromDS != "a:1" || f.Fields[1].Labels["instance"] != "a:1" {
		t.Errorf("A: legend %q labels %v", f.Fields[1].Config.DisplayNameFromDS, f.Fields[1].Labels)
	}
	// 5 minutes at a 15s step, both ends included.
	if n := f.Fields[0].Len(); n != 21 {
		t.Errorf("A: %d points, want 21", n)
	}
	if got := f.Fields[1].At(20).(float64); got != 600 {
		t.Errorf("A: last value %v, want 600", got)
	}

	b := resp.Responses["B"]
	if b.Error != nil || len(b.Frames) != 1 {
		t.Fatalf("B: err %v, %d frames", b.Error, len(b.Frames))
	}
	if cfg := b.Frames[0].Fields[1].Config; cfg != nil {
		t.Errorf("B: __auto legend with labels must leave naming to Grafana, got %+v", cfg)
	}
	for i := 0; i < b.Frames[0].Fields[1].Len(); i++ {
		if v := b.Frames[0].Fields[1].At(i).(float64); v < 2.999 || v > 3.001 {
			t.Fatalf("B: rate sum at %d = %v, want 3", i, v)
		}
	}

	c := resp.Responses["C"]
	if c.Error == nil || !strings.Contains(c.Error.Error(), "parse error") || c.Status != backend.StatusBadRequest {
		t.Errorf("C: want a 400 parse error, got %v %v", c.Status, c.Error)
	}

	d := resp.Responses["D"]
	if d.Error != nil || len(d.Frames) != 1 {
		t.Fatalf("D: err %v frames %d", d.Error, len(d.Frames))
	}
	want := []string{"Time", "__name__", "instance", "job", "Value #D"}
	if got := fieldNames(d.Frames[0]); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("D: table columns %v, want %v", got, want)
	}
	if d.Frames[0].Rows() != 2 {
		t.Errorf("D: %d rows, want 2", d.Frames[0].Rows())
	}
}

func TestDisplayName(t *testing.T) {
	l := labels.FromStrings("__name__", "up", "job", "x", "instance", "h:1")
	cases := []struct{ legend, want string }{
		{"", `up{instance="h:1", job="x"}`},
		{"{{job}} / {{ instance }}", "x / h:1"},
		{"{{missing}}!", "!"},
		{"__auto", ""},
	}
	for _, c := range cases {
		if got := displayName(&query{legendFormat: c.legend, expr: "up"}, l); got != c.want {
			t.Errorf("legend %q: %q, want %q", c.legend, got, c.want)
		}
	}
	// A series without labels is named after its expression.
	if got := displayName(&query{expr: "1+1"}, labels.EmptyLabels()); got != "1+1" {
		t.Errorf("no labels: %q", got)
	}
}

func TestCheckHealth(t *testing.T) {
	ds := newTestDatasource(t)
	res, err := ds.CheckHealth(context.Background(), &backend.CheckHealthRequest{})
	if err != nil || res.Status != backend.HealthStatusOk || !strings.Contains(res.Message, "2 targets up, 0 down") {
		t.Fatalf("health: %v %v %q", err, res.Status, res.Message)
	}
	ds.core.(*testCore).health.ConfigError = "bad file"
	res, _ = ds.CheckHealth(context.Background(), &backend.CheckHealthRequest{})
	if res.Status != backend.HealthStatusError || !strings.Contains(res.Message, "bad file") {
		t.Fatalf("health with config error: %v %q", res.Status, res.Message)
	}
}

func TestNotStartedCore(t *testing.T) {
	ds, err := newDatasource(nil, errString("config: line 3: bad"), backend.DataSourceInstanceSettings{})
	if err != nil {
		t.Fatal(err)
	}
	res, _ := ds.CheckHealth(context.Background(), &backend.CheckHealthRequest{})
	if res.Status != backend.HealthStatusError || !strings.Contains(res.Message, "line 3") {
		t.Errorf("health %v %q", res.Status, res.Message)
	}
	resp, _ := ds.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{panelQuery("A", map[string]any{"expr": "up"})}})
	if resp.Responses["A"].Error == nil {
		t.Error("query succeeded without a core")
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func fieldNames(f *data.Frame) []string {
	var out []string
	for _, fl := range f.Fields {
		out = append(out, fl.Name)
	}
	return out
}
