package plugin

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/storage"
)

// recordingCore is a testCore whose storage records the resolution each
// select accepts.
type recordingCore struct {
	*testCore
	mtx  sync.Mutex
	seen []time.Duration
}

func (c *recordingCore) Queryable() storage.Queryable { return c }

func (c *recordingCore) Querier(mint, maxt int64) (storage.Querier, error) {
	q, err := c.store.Querier(mint, maxt)
	return &recordingQuerier{Querier: q, c: c}, err
}

type recordingQuerier struct {
	storage.Querier
	c *recordingCore
}

func (q *recordingQuerier) Select(ctx context.Context, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	q.c.mtx.Lock()
	q.c.seen = append(q.c.seen, time.Duration(hints.MaxResolution)*time.Millisecond)
	q.c.mtx.Unlock()
	return q.Querier.Select(ctx, hints, ms...)
}

// resolutionRead runs one panel query over span and returns the resolution
// its select accepted.
func resolutionRead(t *testing.T, dsJSON string, model map[string]any, span time.Duration) (time.Duration, error) {
	t.Helper()
	base := newTestDatasource(t)
	rc := &recordingCore{testCore: base.core.(*testCore)}
	ds, err := newDatasource(rc, nil, backend.DataSourceInstanceSettings{JSONData: []byte(dsJSON)})
	if err != nil {
		return 0, err
	}
	dq := panelQuery("A", model)
	dq.TimeRange.From, dq.MaxDataPoints = dq.TimeRange.To.Add(-span), 1000
	resp, _ := ds.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{dq}})
	if err := resp.Responses["A"].Error; err != nil {
		return 0, err
	}
	if len(rc.seen) != 1 {
		t.Fatalf("%d selects", len(rc.seen))
	}
	return rc.seen[0], nil
}

// Panels read downsampled data automatically once the step is large (a
// fifth of it, as Thanos's auto), never for instant queries, and raw
// samples when the datasource or the query says so.
func TestQueryResolution(t *testing.T) {
	const expr = "max_over_time(reqs_total[30d])" // a range long enough for any resolution
	month := 30 * 24 * time.Hour
	monthStep, err := calculateStep(queryModel{}, backend.DataQuery{Interval: 15 * time.Second, MaxDataPoints: 1000,
		TimeRange: backend.TimeRange{From: base.Add(-month), To: base}}, "15s")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		dsJSON string
		model  map[string]any
		span   time.Duration
		want   time.Duration
	}{
		{"auto, 5m panel", `{}`, map[string]any{"expr": expr}, 5 * time.Minute, 3 * time.Second},
		{"auto, 30d panel", `{}`, map[string]any{"expr": expr}, month, monthStep / 5},
		{"auto, instant", `{}`, map[string]any{"expr": expr, "instant": true, "range": false}, month, 0},
		{"datasource raw", `{"maxSourceResolution":"raw"}`, map[string]any{"expr": expr}, month, 0},
		{"datasource 1h", `{"maxSourceResolution":"1h"}`, map[string]any{"expr": expr}, 5 * time.Minute, time.Hour},
		{"query raw", `{}`, map[string]any{"expr": expr, "maxSourceResolution": "raw"}, month, 0},
		{"query auto over datasource raw", `{"maxSourceResolution":"raw"}`, map[string]any{"expr": expr, "maxSourceResolution": "auto"}, month, monthStep / 5},
	} {
		got, err := resolutionRead(t, tc.dsJSON, tc.model, tc.span)
		if err != nil || got != tc.want {
			t.Errorf("%s: resolution %v (err %v), want %v", tc.name, got, err, tc.want)
		}
	}
	if monthStep/5 < 5*time.Minute {
		t.Errorf("a month's step %v reads no downsampled data", monthStep)
	}
	if _, err := resolutionRead(t, `{"maxSourceResolution":"often"}`, map[string]any{"expr": expr}, time.Hour); err == nil || !strings.Contains(err.Error(), "often") {
		t.Errorf("bad datasource setting: %v", err)
	}
	if _, err := resolutionRead(t, `{}`, map[string]any{"expr": expr, "maxSourceResolution": "-5m"}, time.Hour); err == nil || !strings.Contains(err.Error(), "-5m") {
		t.Errorf("bad query option: %v", err)
	}
}
