package querycache

import (
	"slices"
	"sort"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/promql"
)

// extent is the result of one query grid over the step points [from, to]
// of one day, with what computing it read. Its matrix is never modified
// once built: hits hand its histograms out, merges build a new extent.
type extent struct {
	span
	m    promql.Matrix // sorted by labels; points within [from, to]
	deps deps
	size int64
}

func newExtent(s span, m promql.Matrix, d deps) *extent {
	x := &extent{span: s, m: m, deps: d}
	x.size = matrixSize(m) + d.size() + 64
	return x
}

// ownMatrix copies an engine result out of the engine's memory, which a
// closed result hands back for reuse.
func ownMatrix(m promql.Matrix) promql.Matrix {
	out := make(promql.Matrix, len(m))
	for i, s := range m {
		out[i] = promql.Series{Metric: s.Metric, Floats: slices.Clone(s.Floats)}
		if len(s.Histograms) > 0 {
			hs := make([]promql.HPoint, len(s.Histograms))
			for j, p := range s.Histograms {
				hs[j] = promql.HPoint{T: p.T, H: p.H.Copy()}
			}
			out[i].Histograms = hs
		}
	}
	return out
}

// matrixSize approximates the bytes a matrix holds.
func matrixSize(m promql.Matrix) int64 {
	n := int64(80 * len(m))
	for _, s := range m {
		n += int64(s.Metric.ByteSize()) + int64(16*len(s.Floats)+16*len(s.Histograms))
		for _, p := range s.Histograms {
			n += int64(p.H.Size())
		}
	}
	return n
}

// floatsIn and histsIn return the points of [from, to] of sorted points.
func floatsIn(ps []promql.FPoint, from, to int64) []promql.FPoint {
	i := sort.Search(len(ps), func(i int) bool { return ps[i].T >= from })
	j := sort.Search(len(ps), func(i int) bool { return ps[i].T > to })
	return ps[i:max(i, j)]
}

func histsIn(ps []promql.HPoint, from, to int64) []promql.HPoint {
	i := sort.Search(len(ps), func(i int) bool { return ps[i].T >= from })
	j := sort.Search(len(ps), func(i int) bool { return ps[i].T > to })
	return ps[i:max(i, j)]
}

// mergeExtents joins two extents that overlap or touch. Both are valid for
// the current data, so where they overlap their points are the same.
func mergeExtents(a, b *extent) *extent {
	if b.from < a.from {
		a, b = b, a
	}
	s := span{a.from, max(a.to, b.to)}
	return newExtent(s, mergeMatrices(a.m, b.m), a.deps.union(b.deps))
}

// mergeMatrices merges two label-sorted matrices: series matched by
// labels, points merged by time, a point of b at a time a has dropped.
func mergeMatrices(a, b promql.Matrix) promql.Matrix {
	out := make(promql.Matrix, 0, max(len(a), len(b)))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		var c int
		switch {
		case i == len(a):
			c = 1
		case j == len(b):
			c = -1
		default:
			c = labels.Compare(a[i].Metric, b[j].Metric)
		}
		switch {
		case c < 0:
			out = append(out, a[i])
			i++
		case c > 0:
			out = append(out, b[j])
			j++
		default:
			out = append(out, promql.Series{
				Metric:     a[i].Metric,
				Floats:     mergePoints(a[i].Floats, b[j].Floats, func(p promql.FPoint) int64 { return p.T }),
				Histograms: mergePoints(a[i].Histograms, b[j].Histograms, func(p promql.HPoint) int64 { return p.T }),
			})
			i, j = i+1, j+1
		}
	}
	return out
}

func mergePoints[P any](a, b []P, ts func(P) int64) []P {
	if len(a) == 0 && len(b) == 0 {
		return nil
	}
	out := make([]P, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || (i < len(a) && ts(a[i]) < ts(b[j])):
			out = append(out, a[i])
			i++
		case i == len(a) || ts(b[j]) < ts(a[i]):
			out = append(out, b[j])
			j++
		default: // same time: one point
			out = append(out, a[i])
			i, j = i+1, j+1
		}
	}
	return out
}
