package promql_test

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/histogram"

	"github.com/graftlabs/graft/pkg/promql"
)

// TestDoubleExponentialSmoothingStepsInterleaved checks that a range
// query, which computes steps four at a time, gives at every step the very
// bits an instant query (one step, computed alone) gives: over irregular
// samples, special values, windows holding histograms, and factors that
// change from step to step (some invalid).
func TestDoubleExponentialSmoothingStepsInterleaved(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 2))
	st := loadStore(t, time.Second)
	app := st.Appender(context.Background())
	x := mustMetric(t, "x")
	for i, ts := 0, int64(0); ts < 3_600_000; i, ts = i+1, ts+1000+rng.Int64N(30_000) {
		var err error
		if i%97 == 50 {
			_, err = app.AppendHistogram(0, x, ts, nil, &histogram.FloatHistogram{Count: 1, Sum: 1})
		} else {
			v := rng.NormFloat64() * 100
			switch rng.IntN(50) {
			case 0:
				v = math.NaN()
			case 1:
				v = math.Inf(1)
			}
			_, err = app.Append(0, x, ts, v)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	eng := promql.NewEngine(promql.EngineOpts{})
	ctx := context.Background()
	for _, q := range []string{
		`double_exponential_smoothing(x[5m], 0.3, 0.6)`,
		`double_exponential_smoothing(x[2m] offset 1m, 0.9, 0.1)`,
		`double_exponential_smoothing(x[10m], 0.5, 0.05 + time() % 600 / 700)`,
		`double_exponential_smoothing(x[10m], 0.5, 0.1 + time() / 1000)`, // tf reaches 1 at 900s: an error
	} {
		rng, err := eng.Range(ctx, st, q, time.UnixMilli(0), time.UnixMilli(3_600_000), 7*time.Second)
		if err != nil {
			// An invalid factor fails the range query; the instant query at
			// the first such step must fail the same way.
			t.Logf("%s: %v", q, err)
		}
		got := map[int64]float64{}
		if err == nil {
			for _, s := range rng.Value.(promql.Matrix) {
				for _, p := range s.Floats {
					got[p.T] = p.F
				}
			}
			rng.Close()
		}
		for ts := int64(0); ts <= 3_600_000; ts += 7000 {
			one, ierr := eng.Instant(ctx, st, q, time.UnixMilli(ts))
			if ierr != nil {
				if err == nil {
					t.Fatalf("%s at %d: instant query failed (%v), range query did not", q, ts, ierr)
				}
				break // the range query failed at or before this step
			}
			vec := one.Value.(promql.Vector)
			want, has := 0.0, len(vec) == 1
			if has {
				want = vec[0].F
			}
			one.Close()
			g, ok := got[ts]
			if err != nil {
				continue // steps before the failing one: not returned
			}
			if ok != has || math.Float64bits(g) != math.Float64bits(want) && !(math.IsNaN(g) && math.IsNaN(want)) {
				t.Fatalf("%s at %d: range query gives %v (present %v), instant query %v (present %v)", q, ts, g, ok, want, has)
			}
		}
	}
}
