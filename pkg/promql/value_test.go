package promql

import (
	"slices"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
)

func TestSortByLabels(t *testing.T) {
	names := []string{"d", "a", "c", "e", "b", "a2", "f", "c1"}
	var m Matrix
	for _, n := range names {
		m = append(m, Series{Metric: labels.FromStrings("x", n), Floats: []FPoint{{F: float64(len(n))}}})
	}
	m.sortByLabels()
	if !slices.IsSortedFunc(m, func(a, b Series) int { return labels.Compare(a.Metric, b.Metric) }) {
		t.Fatalf("not sorted: %v", m)
	}
	for _, s := range m {
		if s.Floats[0].F != float64(len(s.Metric.Get("x"))) {
			t.Fatalf("series %v lost its points", s.Metric)
		}
	}
}
