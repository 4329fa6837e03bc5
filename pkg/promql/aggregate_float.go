package promql

import (
	"math"
	"sync"

	"github.com/prometheus/prometheus/promql/parser"
)

// The float aggregations below run series by series: each member of a group
// is streamed into per-step accumulators, rather than every member being
// visited at every step. Members are still added in input order, so every
// step sees the same additions, in the same order, as Prometheus makes.

func floatAggregation(op parser.ItemType) bool {
	switch op {
	case parser.SUM, parser.AVG, parser.COUNT, parser.MIN, parser.MAX, parser.GROUP:
		return true
	}
	return false
}

func hasHistograms(m Matrix) bool {
	for i := range m {
		if len(m[i].Histograms) > 0 {
			return true
		}
	}
	return false
}

// floatAccs are one group's accumulators, one slot per step, reused from
// group to group.
type floatAccs struct {
	v, c  []float64 // sum (or min, max) and Kahan compensation
	n     []float64 // samples added
	means []meanAcc // avg
}

func (a *floatAccs) reset(steps int, avg bool) {
	if cap(a.v) < steps {
		a.v, a.c, a.n = make([]float64, steps), make([]float64, steps), make([]float64, steps)
	}
	a.v, a.c, a.n = a.v[:steps], a.c[:steps], a.n[:steps]
	clear(a.v)
	clear(a.c)
	clear(a.n)
	if avg {
		if cap(a.means) < steps {
			a.means = make([]meanAcc, steps)
		}
		a.means = a.means[:steps]
		clear(a.means)
	}
}

// add folds f into step k as op does.
func (a *floatAccs) add(op parser.ItemType, k int, f float64) {
	first := a.n[k] == 0
	a.n[k]++
	switch op {
	case parser.SUM:
		if first {
			a.v[k] = f
		} else {
			a.v[k], a.c[k] = kahanInc(f, a.v[k], a.c[k])
		}
	case parser.AVG:
		a.means[k].add(f)
	case parser.MAX:
		if first || a.v[k] < f || math.IsNaN(a.v[k]) {
			a.v[k] = f
		}
	case parser.MIN:
		if first || a.v[k] > f || math.IsNaN(a.v[k]) {
			a.v[k] = f
		}
	}
}

// value is the aggregate at step k.
func (a *floatAccs) value(op parser.ItemType, k int) float64 {
	switch op {
	case parser.SUM:
		return a.v[k] + a.c[k]
	case parser.AVG:
		return a.means[k].value()
	case parser.COUNT:
		return a.n[k]
	case parser.GROUP:
		return 1
	}
	return a.v[k]
}

// accPool recycles accumulators across queries.
var accPool = sync.Pool{New: func() any { return &floatAccs{} }}

func (ev *evaluator) aggregateFloats(op parser.ItemType, in Matrix, groups *aggGroups) (Matrix, error) {
	out := make(Matrix, 0, len(groups.labels))
	acc := accPool.Get().(*floatAccs)
	defer accPool.Put(acc)
	for g, members := range groups.members {
		if err := ev.checkCtx(); err != nil {
			return nil, err
		}
		acc.reset(ev.steps, op == parser.AVG)
		for _, i := range members {
			for _, p := range in[i].Floats {
				acc.add(op, ev.stepOf(p.T), p.F)
			}
		}
		res := Series{Metric: groups.labels[g]}
		last := -1
		for k := range ev.steps {
			if acc.n[k] == 0 {
				continue
			}
			if cap(res.Floats) == 0 {
				res.Floats = ev.arena.floats(ev.steps - k)
			}
			res.Floats = append(res.Floats, FPoint{T: ev.ts(k), F: acc.value(op, k)})
			last = k
		}
		if last < 0 {
			continue
		}
		res.Floats = ev.arena.doneFloats(res.Floats)
		res.dropName = dropNameAt(in, members, ev.ts(last))
		out = append(out, res)
	}
	return out, nil
}

// dropNameAt is what Prometheus's group ends with at step ts: whether any
// member with a value there drops its name.
func dropNameAt(in Matrix, members []int, ts int64) bool {
	for _, i := range members {
		if !in[i].dropName {
			continue
		}
		fs := in[i].Floats
		if n := len(fs); n > 0 && fs[n-1].T >= ts {
			for j := n - 1; j >= 0 && fs[j].T >= ts; j-- {
				if fs[j].T == ts {
					return true
				}
			}
		}
	}
	return false
}
