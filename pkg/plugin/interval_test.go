package plugin

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

func dataQuery(t *testing.T, model map[string]any, span, interval time.Duration, maxPoints int64) backend.DataQuery {
	t.Helper()
	b, err := json.Marshal(model)
	if err != nil {
		t.Fatal(err)
	}
	to := time.Date(2026, 1, 2, 3, 4, 5, 678e6, time.UTC)
	return backend.DataQuery{
		RefID: "A", JSON: b, Interval: interval, MaxDataPoints: maxPoints,
		TimeRange: backend.TimeRange{From: to.Add(-span), To: to},
	}
}

func TestCalculateStep(t *testing.T) {
	cases := []struct {
		name     string
		model    map[string]any
		span     time.Duration
		interval time.Duration
		points   int64
		scrape   string
		want     time.Duration
	}{
		// 1h over 1000 points is 3.6s, below the panel interval, which
		// Grafana's frontend already bounded by the scrape interval.
		{"min step is the panel interval", map[string]any{}, time.Hour, 15 * time.Second, 1000, "15s", 15 * time.Second},
		// Without a panel interval (alert queries), the scrape interval bounds it.
		{"scrape interval without panel interval", map[string]any{}, time.Hour, 0, 1000, "15s", 15 * time.Second},
		// A finer panel interval lets the step follow range / points: 3.6s rounds to 5s.
		{"fine panel interval", map[string]any{}, time.Hour, 2 * time.Second, 1000, "15s", 5 * time.Second},
		// 24h / 1000 = 86.4s, rounded by Grafana's table to 1m.
		{"range over max points, rounded", map[string]any{}, 24 * time.Hour, time.Minute, 1000, "15s", time.Minute},
		{"query min step wins over scrape", map[string]any{"interval": "1m"}, time.Hour, time.Second, 1000, "15s", time.Minute},
		// 30d / 11000 = 235.6s rounds to 5m, coarser than 30d/1e6 points.
		{"safe resolution bounds points", map[string]any{}, 30 * 24 * time.Hour, time.Second, 1_000_000, "15s", 5 * time.Minute},
		{"interval factor multiplies", map[string]any{"intervalFactor": 2}, time.Hour, 15 * time.Second, 1000, "15s", 30 * time.Second},
		// $__rate_interval as min step: max(step + scrape, 4 * scrape) = max(15s+15s, 60s).
		{"rate interval as min step", map[string]any{"interval": "$__rate_interval"}, time.Hour, time.Second, 1000, "15s", time.Minute},
		{"interval variable ignored as min step", map[string]any{"interval": "$__interval"}, time.Hour, 15 * time.Second, 1000, "15s", 15 * time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.model["expr"] = "up"
			dq := dataQuery(t, c.model, c.span, c.interval, c.points)
			var m queryModel
			if err := json.Unmarshal(dq.JSON, &m); err != nil {
				t.Fatal(err)
			}
			got, err := calculateStep(m, dq, c.scrape)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("step = %v, want %v", got, c.want)
			}
		})
	}
}

func TestInterpolateVariables(t *testing.T) {
	dq := dataQuery(t, map[string]any{"expr": "x"}, time.Hour, 30*time.Second, 1000)
	got := interpolate(
		`rate(a[$__rate_interval]) $__interval $__interval_ms ${__interval} $__range $__range_s $__range_ms $__rate_interval_ms`,
		dq, 30*time.Second, "", "15s")
	// rate interval = max(30s + 15s, 4 * 15s) = 1m.
	want := `rate(a[1m0s]) 30s 30000 30s 3600s 3600 3600000 60000`
	if got != want {
		t.Errorf("interpolate:\n got %s\nwant %s", got, want)
	}
}

func TestAlignTime(t *testing.T) {
	ts := time.Date(2026, 1, 1, 0, 0, 37, 0, time.UTC)
	if got := alignTime(ts, 15*time.Second, 0); !got.Equal(time.Date(2026, 1, 1, 0, 0, 30, 0, time.UTC)) {
		t.Errorf("align = %v", got)
	}
	// A one-day step aligns to the browser's midnight: UTC+2 midnight is 22:00 UTC.
	ts = time.Date(2026, 1, 1, 23, 0, 0, 0, time.UTC)
	if got := alignTime(ts, 24*time.Hour, 7200); !got.Equal(time.Date(2026, 1, 1, 22, 0, 0, 0, time.UTC)) {
		t.Errorf("align with offset = %v", got)
	}
}

func TestParseQueryDefaults(t *testing.T) {
	q, err := parseQuery(dataQuery(t, map[string]any{"expr": "up"}, time.Hour, 15*time.Second, 1000), "15s")
	if err != nil {
		t.Fatal(err)
	}
	if !q.rangeQuery || q.instant || q.format != formatTimeSeries {
		t.Errorf("defaults: range=%v instant=%v format=%q", q.rangeQuery, q.instant, q.format)
	}
	if q.start.UnixMilli()%q.step.Milliseconds() != 0 || q.end.UnixMilli()%q.step.Milliseconds() != 0 {
		t.Errorf("range %v..%v not aligned to %v", q.start, q.end, q.step)
	}
	if _, err := parseQuery(dataQuery(t, map[string]any{"expr": ""}, time.Hour, 0, 0), "15s"); err == nil {
		t.Error("empty expression accepted")
	}
}

func TestAdhocFilters(t *testing.T) {
	got, err := applyAdhocFilters(`sum(rate(a{x="1"}[5m])) / b`, []adhocFilter{{Key: "job", Operator: "=~", Value: "api|web"}})
	if err != nil {
		t.Fatal(err)
	}
	want := `sum(rate(a{job=~"api|web",x="1"}[5m])) / b{job=~"api|web"}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if _, err := applyAdhocFilters("a", []adhocFilter{{Key: "job", Operator: "<", Value: "x"}}); err == nil {
		t.Error("bad operator accepted")
	}
	if _, err := applyAdhocFilters("a", []adhocFilter{{Key: "job", Operator: "=~", Value: "("}}); err == nil {
		t.Error("bad regex accepted")
	}
}
