package promql

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

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

// Sample is one element of an instant vector.
type Sample struct {
	Metric labels.Labels
	T      int64 // Evaluation timestamp in ms.
	F      float64
}

func (s Sample) String() string {
	return fmt.Sprintf("%s => %s", s.Metric, FPoint{T: s.T, F: s.F})
}

// Vector is an instant vector. Graft sorts it by labels so that results are
// deterministic (Prometheus leaves the order to the evaluation).
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

// Series is one labelled stream of points inside a Matrix.
type Series struct {
	Metric labels.Labels
	Floats []FPoint
}

func (s Series) String() string {
	vals := make([]string, len(s.Floats))
	for i, p := range s.Floats {
		vals[i] = p.String()
	}
	return fmt.Sprintf("%s =>\n%s", s.Metric, strings.Join(vals, "\n"))
}

// Matrix is a range vector, or the result of a range query. Always sorted by
// labels.
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

func (m Matrix) sortByLabels() {
	slices.SortFunc(m, func(a, b Series) int { return labels.Compare(a.Metric, b.Metric) })
}

func (v Vector) sortByLabels() {
	slices.SortFunc(v, func(a, b Sample) int { return labels.Compare(a.Metric, b.Metric) })
}

// formatFloat renders like Prometheus: shortest exact decimal, no exponent.
func formatFloat(f float64) string {
	return strconv.FormatFloat(f, 'f', -1, 64)
}
