package promql_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/graftlabs/graft/pkg/promql"
)

func TestEngineMetrics(t *testing.T) {
	st := loadStore(t, 10*time.Second, `up{job="a"} 1 1 1`)
	reg := prometheus.NewRegistry()
	e := promql.NewEngine(promql.EngineOpts{Registerer: reg})
	ctx := context.Background()
	if _, err := e.Instant(ctx, st, "up", at(20)); err != nil {
		t.Fatal(err)
	}
	res, err := e.Range(ctx, st, "up", at(0), at(20), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	res.Close()
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := e.Instant(canceled, st, "up", at(20)); err == nil {
		t.Fatal("a canceled query succeeded")
	}
	want := `
# HELP graft_engine_query_failures_total Queries that failed, by error type.
# TYPE graft_engine_query_failures_total counter
graft_engine_query_failures_total{type="bad_data"} 0
graft_engine_query_failures_total{type="canceled"} 1
graft_engine_query_failures_total{type="execution"} 0
graft_engine_query_failures_total{type="timeout"} 0
# HELP graft_engine_query_samples_total Samples read from storage by queries.
# TYPE graft_engine_query_samples_total counter
graft_engine_query_samples_total 4
# HELP graft_engine_queries Queries being evaluated or waiting for a slot.
# TYPE graft_engine_queries gauge
graft_engine_queries 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "graft_engine_query_failures_total", "graft_engine_query_samples_total", "graft_engine_queries"); err != nil {
		t.Error(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	pooled := false
	counts := map[string]uint64{}
	for _, mf := range mfs {
		if mf.GetName() == "graft_engine_point_pool_bytes" {
			// The range query's points went back to the pool.
			if v := mf.GetMetric()[0].GetGauge().GetValue(); v <= 0 {
				t.Errorf("point pool holds %g bytes after a query", v)
			}
			pooled = true
		}
		if mf.GetName() != "graft_engine_query_duration_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			counts[m.GetLabel()[0].GetValue()] = m.GetHistogram().GetSampleCount()
		}
	}
	if !pooled {
		t.Error("no graft_engine_point_pool_bytes")
	}
	if counts["instant"] != 2 || counts["range"] != 1 {
		t.Errorf("query durations observed per kind = %v, want instant 2, range 1", counts)
	}
}
