package promql_test

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/graftlabs/graft/pkg/promql"
	"github.com/graftlabs/graft/pkg/storage/memstore"
)

var testParser = parser.NewParser(parser.Options{})

// loadStore loads series written in promqltest notation, one value per
// interval starting at t=0, e.g. `foo{a="1"} 0+10x5 _ stale 7`.
func loadStore(t testing.TB, interval time.Duration, lines ...string) *memstore.Store {
	t.Helper()
	st := memstore.New()
	app := st.Appender(context.Background())
	for _, line := range lines {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		lset, vals, err := testParser.ParseSeriesDesc(line)
		if err != nil {
			t.Fatalf("bad series %q: %v", line, err)
		}
		for i, v := range vals {
			if v.Omitted {
				continue
			}
			if _, err := app.Append(0, lset, int64(i)*interval.Milliseconds(), v.Value); err != nil {
				t.Fatalf("append %s: %v", lset, err)
			}
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	return st
}

// addSamples appends samples with explicit timestamps (ms) to st.
func addSamples(t testing.TB, st *memstore.Store, metric string, pts ...promql.FPoint) {
	t.Helper()
	lset := mustMetric(t, metric)
	app := st.Appender(context.Background())
	for _, p := range pts {
		if _, err := app.Append(0, lset, p.T, p.F); err != nil {
			t.Fatalf("append %s: %v", lset, err)
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
}

func mustMetric(t testing.TB, s string) labels.Labels {
	t.Helper()
	if s == "{}" {
		return labels.EmptyLabels()
	}
	l, err := testParser.ParseMetric(s)
	if err != nil {
		t.Fatalf("bad metric %q: %v", s, err)
	}
	return l
}

// at returns the time sec seconds after the epoch.
func at(sec float64) time.Time {
	return time.UnixMilli(int64(math.Round(sec * 1000)))
}

// ms converts seconds to the millisecond timestamps results carry.
func ms(sec float64) int64 { return int64(math.Round(sec * 1000)) }

// floatsClose compares with a 1e-9 relative tolerance; NaNs are equal.
func floatsClose(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	if a == b {
		return true
	}
	diff := math.Abs(a - b)
	return diff <= 1e-9*math.Max(math.Abs(a), math.Abs(b)) || diff < 1e-12
}

// sameValue reports whether two results are equal up to float tolerance,
// with a description of the first difference.
func sameValue(got, want promql.Value) (bool, string) {
	switch w := want.(type) {
	case promql.Scalar:
		g, ok := got.(promql.Scalar)
		if !ok || g.T != w.T || !floatsClose(g.V, w.V) {
			return false, "scalar differs"
		}
	case promql.String:
		if g, ok := got.(promql.String); !ok || g != w {
			return false, "string differs"
		}
	case promql.Vector:
		g, ok := got.(promql.Vector)
		if !ok || len(g) != len(w) {
			return false, "vector length or type differs"
		}
		// Instant vectors come in no particular order: compare as sets.
		byLabels := func(a, b promql.Sample) int { return labels.Compare(a.Metric, b.Metric) }
		g, w = slices.Clone(g), slices.Clone(w)
		slices.SortFunc(g, byLabels)
		slices.SortFunc(w, byLabels)
		for i := range w {
			if !labels.Equal(g[i].Metric, w[i].Metric) || g[i].T != w[i].T || !floatsClose(g[i].F, w[i].F) {
				return false, "sample differs: got " + g[i].String() + ", want " + w[i].String()
			}
		}
	case promql.Matrix:
		g, ok := got.(promql.Matrix)
		if !ok || len(g) != len(w) {
			return false, "matrix length or type differs"
		}
		for i := range w {
			if ok, why := sameSeries(g[i], w[i]); !ok {
				return false, why
			}
		}
	default:
		return false, "unexpected want type"
	}
	return true, ""
}

func sameSeries(g, w promql.Series) (bool, string) {
	if !labels.Equal(g.Metric, w.Metric) {
		return false, "series labels differ: got " + g.Metric.String() + ", want " + w.Metric.String()
	}
	if len(g.Floats) != len(w.Floats) {
		return false, "series " + w.Metric.String() + " point count differs"
	}
	for j := range w.Floats {
		if g.Floats[j].T != w.Floats[j].T || !floatsClose(g.Floats[j].F, w.Floats[j].F) {
			return false, "series " + w.Metric.String() + " point differs: got " + g.Floats[j].String() + ", want " + w.Floats[j].String()
		}
	}
	return true, ""
}

// vec builds an expected Vector from "metric value" pairs at time ts (ms).
func vec(t testing.TB, ts int64, pairs ...any) promql.Vector {
	t.Helper()
	out := promql.Vector{}
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, promql.Sample{Metric: mustMetric(t, pairs[i].(string)), T: ts, F: toFloat(pairs[i+1])})
	}
	slices.SortFunc(out, func(a, b promql.Sample) int { return labels.Compare(a.Metric, b.Metric) })
	return out
}

func toFloat(v any) float64 {
	switch v := v.(type) {
	case int:
		return float64(v)
	case float64:
		return v
	}
	panic("not a number")
}
