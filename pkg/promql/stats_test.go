package promql_test

import (
	"context"
	"strings"
	"testing"
	"time"

	prom "github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/graftlabs/graft/pkg/promql"
	"github.com/graftlabs/graft/pkg/promql/promcompat"
	"github.com/graftlabs/graft/pkg/storage"
)

// The samples a query reads (the API's totalQueryableSamples) count like
// Prometheus's: each step its instant selectors' points and its range
// functions' whole windows. Range functions used to count nothing.
func TestTotalSamplesLikePrometheus(t *testing.T) {
	st := loadStore(t, 15*time.Second, `c{i="1"} 0+10x400`, `c{i="2"} 0+3x200 _x50 0+1x100`, `g 1+1x400`)
	ref := prom.NewEngine(prom.EngineOpts{MaxSamples: 50_000_000, Timeout: time.Minute, EnableAtModifier: true, Parser: parser.NewParser(promql.AllFeatures)})
	ours := promql.NewEngine(promql.EngineOpts{})
	start, end := time.Unix(600, 0), time.Unix(5400, 0)
	for _, q := range []string{
		`c`, `rate(c[5m])`, `max_over_time(g[10m])`, `sum(increase(c[2m]))`,
		`rate(c[5m]) / irate(c[1m])`, `count_over_time(c[1m] @ 3000)`, `double_exponential_smoothing(g[5m], 0.5, 0.5)`,
		`max_over_time(rate(c[1m])[10m:1m])`, `avg_over_time(g[5m:30s])`, `sum_over_time(g[20m:2m] @ 4000)`,
		`c[5m]`, `g[10m:1m]`,
	} {
		for _, step := range []time.Duration{0, 30 * time.Second, 7 * time.Minute} {
			if step > 0 && strings.HasSuffix(q, "]") {
				continue // a range vector: instant queries only
			}
			var want int64
			var qry prom.Query
			var err error
			if step == 0 {
				qry, err = ref.NewInstantQuery(context.Background(), promcompat.NewStorage(st), nil, q, end)
			} else {
				qry, err = ref.NewRangeQuery(context.Background(), promcompat.NewStorage(st), nil, q, start, end, step)
			}
			if err != nil {
				t.Fatal(err)
			}
			if res := qry.Exec(context.Background()); res.Err != nil {
				t.Fatalf("%s: %v", q, res.Err)
			}
			want = qry.Stats().Samples.TotalSamples
			got := graftTotalSamples(t, ours, st, q, start, end, step)
			if got != want {
				t.Errorf("%s, step %s: %d samples read, Prometheus %d", q, step, got, want)
			}
		}
	}
}

func graftTotalSamples(t *testing.T, e *promql.Engine, st storage.Queryable, q string, start, end time.Time, step time.Duration) int64 {
	t.Helper()
	var qry *promql.Query
	var err error
	if step == 0 {
		qry, err = e.NewInstantQuery(st, q, end, promql.QueryOpts{})
	} else {
		qry, err = e.NewRangeQuery(st, q, start, end, step, promql.QueryOpts{})
	}
	if err != nil {
		t.Fatal(err)
	}
	res, err := qry.Exec(context.Background())
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer res.Close()
	return res.Stats.TotalSamples
}

// A repeated expression is evaluated once (cse.go): its samples count
// once, where Prometheus, evaluating it twice, counts them twice.
func TestRepeatedExpressionIsReadOnce(t *testing.T) {
	st := loadStore(t, 15*time.Second, `c{i="1"} 0+10x400`, `c{i="2"} 0+3x400`)
	ours := promql.NewEngine(promql.EngineOpts{})
	start, end := time.Unix(600, 0), time.Unix(5400, 0)
	for _, step := range []time.Duration{0, 30 * time.Second} {
		once := graftTotalSamples(t, ours, st, `sum(rate(c[5m]))`, start, end, step)
		thrice := graftTotalSamples(t, ours, st, `sum(rate(c[5m])) / sum(rate(c[5m])) + sum(rate(c[5m]))`, start, end, step)
		if once == 0 || thrice != once {
			t.Errorf("step %s: %d samples read for one use, %d for three, want the same", step, once, thrice)
		}
	}
}
