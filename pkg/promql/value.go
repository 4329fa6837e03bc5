package promql

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// Value is the result of a query: a Scalar, String, Vector or Matrix.
type Value interface {
	Type() parser.ValueType
	String() string
}

// Scalar is a single number not associated with a series.
type Scalar struct {
	T int64 // Evaluation timestamp in ms.
	V float64
}

// Type implements Value.
func (Scalar) Type() parser.ValueType { return parser.ValueTypeScalar }

func (s Scalar) String() string {
	return fmt.Sprintf("scalar: %s @[%d]", formatFloat(s.V), s.T)
}

// String is a string literal result.
type String struct {
	T int64 // Evaluation timestamp in ms.
	V string
}

// Type implements Value.
func (String) Type() parser.ValueType { return parser.ValueTypeString }

func (s String) String() string { return s.V }

// Sample is one element of an instant vector: a float (H nil) or a native
// histogram (H set).
type Sample struct {
	Metric labels.Labels
	T      int64 // Evaluation timestamp in ms.
	F      float64
	H      *histogram.FloatHistogram
}

func (s Sample) String() string {
	if s.H != nil {
		return fmt.Sprintf("%s => %s", s.Metric, HPoint{T: s.T, H: s.H})
	}
	return fmt.Sprintf("%s => %s", s.Metric, FPoint{T: s.T, F: s.F})
}

// Vector is an instant vector.
type Vector []Sample

// Type implements Value.
func (Vector) Type() parser.ValueType { return parser.ValueTypeVector }

func (v Vector) String() string {
	entries := make([]string, len(v))
	for i, s := range v {
		entries[i] = s.String()
	}
	return strings.Join(entries, "\n")
}

// FPoint is one float sample of a series.
type FPoint struct {
	T int64 // Timestamp in ms.
	F float64
}

func (p FPoint) String() string {
	return fmt.Sprintf("%s @[%d]", formatFloat(p.F), p.T)
}

// HPoint is one native histogram sample of a series.
type HPoint struct {
	T int64 // Timestamp in ms.
	H *histogram.FloatHistogram
}

func (p HPoint) String() string {
	return fmt.Sprintf("%s @[%d]", p.H.String(), p.T)
}

// size is how many float samples a histogram counts as for MaxSamples, the
// same weight Prometheus gives it.
func (p HPoint) size() int { return (p.H.Size() + 8) / 16 }

// Series is one labelled stream of points inside a Matrix. A series holds
// floats, histograms or both (never both at the same timestamp).
type Series struct {
	Metric     labels.Labels
	Floats     []FPoint
	Histograms []HPoint

	// dropName marks a series whose metric name (and type/unit metadata
	// labels) goes at the end of evaluation; only used with delayed name
	// removal, where names stay visible to label functions until then.
	dropName bool
}

func (s Series) String() string {
	vals := make([]string, 0, len(s.Floats)+len(s.Histograms))
	for _, p := range s.Floats {
		vals = append(vals, p.String())
	}
	for _, p := range s.Histograms {
		vals = append(vals, p.String())
	}
	return fmt.Sprintf("%s =>\n%s", s.Metric, strings.Join(vals, "\n"))
}

// points returns how many samples the series counts for MaxSamples.
func (s *Series) points() int {
	n := len(s.Floats)
	for _, p := range s.Histograms {
		n += p.size()
	}
	return n
}

func (s *Series) empty() bool { return len(s.Floats) == 0 && len(s.Histograms) == 0 }

// Matrix is a range vector, or the result of a range query. Query results
// are sorted by labels.
type Matrix []Series

// Type implements Value.
func (Matrix) Type() parser.ValueType { return parser.ValueTypeMatrix }

func (m Matrix) String() string {
	strs := make([]string, len(m))
	for i, s := range m {
		strs[i] = s.String()
	}
	return strings.Join(strs, "\n")
}

// sortByLabels sorts m by labels. It checks first whether m is sorted
// already, and otherwise sorts positions and moves each series once:
// swapping Series values as a sort goes costs more than comparing labels
// (they hold pointers, so every move runs the write barrier).
func (m Matrix) sortByLabels() {
	cmp := func(a, b *Series) int { return labels.Compare(a.Metric, b.Metric) }
	sorted := true
	for i := 1; i < len(m) && sorted; i++ {
		sorted = cmp(&m[i-1], &m[i]) <= 0
	}
	if sorted {
		return
	}
	order := make([]int32, len(m))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return cmp(&m[a], &m[b]) })
	m.permute(order)
}

// permute moves m[order[i]] to m[i] for every i, following the cycles of
// the permutation; it consumes order.
func (m Matrix) permute(order []int32) {
	for i := range order {
		if order[i] < 0 {
			continue
		}
		first := m[i]
		j := i
		for {
			k := int(order[j])
			order[j] = -1
			if k == i {
				m[j] = first
				break
			}
			m[j] = m[k]
			j = k
		}
	}
}

// points returns how many samples the matrix counts for MaxSamples.
func (m Matrix) points() int {
	n := 0
	for i := range m {
		n += m[i].points()
	}
	return n
}

// formatFloat renders like Prometheus: shortest exact decimal, no exponent.
func formatFloat(f float64) string {
	return strconv.FormatFloat(f, 'f', -1, 64)
}
