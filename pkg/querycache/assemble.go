package querycache

import (
	"slices"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/promql"
)

// part is the answer for the step points of a span: a cached extent that
// covers it, or the extent just evaluated for it.
type part struct {
	key entryKey
	span
	x     *extent // nil while missing
	fresh bool    // evaluated by this query
}

// assembled collects the series of time-ordered parts into one matrix.
type assembled struct {
	index  map[string]int
	series []*seriesParts
	buf    []byte
}

type seriesParts struct {
	metric labels.Labels
	floats [][]promql.FPoint
	hists  [][]promql.HPoint
	nf, nh int
}

func newAssembled() *assembled { return &assembled{index: map[string]int{}} }

// add takes the points of m within [from, to]; parts must come in time
// order and not overlap.
func (a *assembled) add(m promql.Matrix, from, to int64) {
	for _, s := range m {
		fs, hs := floatsIn(s.Floats, from, to), histsIn(s.Histograms, from, to)
		if len(fs) == 0 && len(hs) == 0 {
			continue
		}
		a.buf = s.Metric.Bytes(a.buf[:0])
		i, ok := a.index[string(a.buf)]
		if !ok {
			i = len(a.series)
			a.index[string(a.buf)] = i
			a.series = append(a.series, &seriesParts{metric: s.Metric})
		}
		sp := a.series[i]
		if len(fs) > 0 {
			sp.floats, sp.nf = append(sp.floats, fs), sp.nf+len(fs)
		}
		if len(hs) > 0 {
			sp.hists, sp.nh = append(sp.hists, hs), sp.nh+len(hs)
		}
	}
}

// matrix builds the result in fresh slices, series sorted by labels as the
// engine returns them. Histograms are shared with the cache: read-only.
func (a *assembled) matrix() promql.Matrix {
	out := make(promql.Matrix, len(a.series))
	for i, sp := range a.series {
		s := promql.Series{Metric: sp.metric}
		if sp.nf > 0 {
			s.Floats = make([]promql.FPoint, 0, sp.nf)
			for _, fs := range sp.floats {
				s.Floats = append(s.Floats, fs...)
			}
		}
		if sp.nh > 0 {
			s.Histograms = make([]promql.HPoint, 0, sp.nh)
			for _, hs := range sp.hists {
				s.Histograms = append(s.Histograms, hs...)
			}
		}
		out[i] = s
	}
	slices.SortFunc(out, func(x, y promql.Series) int { return labels.Compare(x.Metric, y.Metric) })
	return out
}
