package promql

import (
	"math"
	"sort"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/util/annotations"
)

// kSample is one candidate of topk, bottomk, limitk or limit_ratio.
type kSample struct {
	idx int // input series
	f   float64
	h   *histogramT
}

// byValueHeap keeps the smallest value on top; NaN counts as smallest.
type byValueHeap []kSample

func (s byValueHeap) Len() int { return len(s) }
func (s byValueHeap) Less(i, j int) bool {
	if math.IsNaN(s[i].f) {
		return true
	}
	return s[i].f < s[j].f
}
func (s byValueHeap) Swap(i, j int) { s[i], s[j] = s[j], s[i] }

// pushK is heap.Push for a heap of kSamples, by value order (reverse:
// largest on top).
func pushK(h *byValueHeap, s kSample, reverse bool) {
	*h = append(*h, s)
	fixK(*h, len(*h)-1, reverse)
}

// fixK is heap.Fix for a heap of kSamples: the same comparisons and swaps
// (so that ties resolve as in Prometheus), without container/heap's
// interface calls, which cost more than the comparisons at every step of
// topk and bottomk.
func fixK(h byValueHeap, i int, reverse bool) {
	if !downK(h, i, reverse) {
		upK(h, i, reverse)
	}
}

// lessK is byValueHeap's Less, or byReverseValueHeap's when reverse.
func lessK(h byValueHeap, i, j int, reverse bool) bool {
	if math.IsNaN(h[i].f) {
		return true
	}
	if reverse {
		return h[i].f > h[j].f
	}
	return h[i].f < h[j].f
}

func upK(h byValueHeap, j int, reverse bool) {
	for {
		i := (j - 1) / 2 // parent
		if i == j || !lessK(h, j, i, reverse) {
			break
		}
		h[i], h[j] = h[j], h[i]
		j = i
	}
}

func downK(h byValueHeap, i0 int, reverse bool) bool {
	n := len(h)
	i := i0
	for {
		j1 := 2*i + 1
		if j1 >= n || j1 < 0 { // j1 < 0 after int overflow
			break
		}
		j := j1 // left child
		if j2 := j1 + 1; j2 < n && lessK(h, j2, j1, reverse) {
			j = j2 // right child
		}
		if !lessK(h, j, i, reverse) {
			break
		}
		h[i], h[j] = h[j], h[i]
		i = j
	}
	return i > i0
}

// byReverseValueHeap keeps the largest value on top; NaN counts as largest.
type byReverseValueHeap []kSample

func (s byReverseValueHeap) Len() int { return len(s) }
func (s byReverseValueHeap) Less(i, j int) bool {
	if math.IsNaN(s[i].f) {
		return true
	}
	return s[i].f > s[j].f
}
func (s byReverseValueHeap) Swap(i, j int) { s[i], s[j] = s[j], s[i] }

// aggregateK evaluates topk, bottomk, limitk and limit_ratio: the output
// keeps the selected input series, with their labels. Heaps and sorting
// follow Prometheus's, so that ties resolve the same way.
func (ev *evaluator) aggregateK(e *parser.AggregateExpr, param scalarValue, in Matrix, groups *aggGroups) (Matrix, error) {
	view := newStepView(in)
	out := newOutputSet(ev.steps, ev.arena)
	var (
		instant Matrix
		annos   annotations.Annotations
		heaps   = make([]byValueHeap, len(groups.members))
		seen    = make([]bool, len(groups.members))
		sorter  = &kSorter{}
	)
	for k := range ev.steps {
		if k%256 == 0 {
			if err := ev.checkCtx(); err != nil {
				return nil, err
			}
		}
		ts := ev.ts(k)
		if !ev.selectK(e, param[k], in, groups, view, ts, heaps, seen, &annos) {
			continue
		}
		for g := range heaps {
			if !seen[g] {
				continue
			}
			for _, s := range orderedK(e.Op, heaps[g], sorter) {
				if ev.instant() {
					instant = append(instant, kSeries(in[s.idx], s, ts))
					continue
				}
				if err := out.addSample(in[s.idx].Metric, in[s.idx].dropName, k, ts, s.f, s.h); err != nil {
					return nil, err
				}
			}
		}
	}
	ev.annotate(annos)
	if ev.instant() {
		if instant == nil {
			return Matrix{}, nil
		}
		return instant, nil
	}
	return out.result(), nil
}

func kSeries(in Series, s kSample, ts int64) Series {
	res := Series{Metric: in.Metric, dropName: in.dropName}
	if s.h != nil {
		res.Histograms = []HPoint{{T: ts, H: s.h}}
	} else {
		res.Floats = []FPoint{{T: ts, F: s.f}}
	}
	return res
}

// selectK fills each group's heap for one step; false means the step has
// no output at all (k below one, ratio zero).
func (ev *evaluator) selectK(e *parser.AggregateExpr, p float64, in Matrix, groups *aggGroups, view *stepView, ts int64, heaps []byValueHeap, seen []bool, annos *annotations.Annotations) bool {
	for g := range seen {
		seen[g] = false
		heaps[g] = heaps[g][:0]
	}
	var (
		k     int64
		ratio float64
		op    = e.Op
		any   bool
	)
	switch op {
	case parser.LIMIT_RATIO:
		ratio = math.Max(-1, math.Min(1, p))
	default:
		k = min(int64(p), int64(len(in)))
	}
	for i := range in {
		f, h, ok := view.at(i, ts)
		if !ok {
			continue
		}
		if !any {
			any = true
			if (op != parser.LIMIT_RATIO && k < 1) || (op == parser.LIMIT_RATIO && p == 0) {
				// Consume the step's values of the remaining series.
				for j := i + 1; j < len(in); j++ {
					view.at(j, ts)
				}
				return false
			}
		}
		s := kSample{idx: i, f: f, h: h}
		g := groups.of[i]
		if !seen[g] {
			seen[g] = true
			heaps[g] = heaps[g][:0]
			switch {
			case op == parser.LIMIT_RATIO:
				if addRatioSample(ratio, in[i].Metric) {
					pushK(&heaps[g], s, false)
				}
			case op == parser.LIMITK:
				heaps[g] = append(heaps[g], s)
			case h != nil:
				seen[g] = false
				annos.Add(annotations.NewHistogramIgnoredInAggregationInfo(op.String(), e.PosRange))
			case op == parser.TOPK:
				pushK(&heaps[g], s, false)
			default:
				pushK(&heaps[g], s, true)
			}
			continue
		}
		hp := &heaps[g]
		switch op {
		case parser.TOPK:
			switch {
			case h != nil:
				annos.Add(annotations.NewHistogramIgnoredInAggregationInfo("topk", e.PosRange))
			case int64(len(*hp)) < k:
				pushK(hp, s, false)
			case (*hp)[0].f < f || (math.IsNaN((*hp)[0].f) && !math.IsNaN(f)):
				(*hp)[0] = s
				if k > 1 {
					fixK(*hp, 0, false)
				}
			}
		case parser.BOTTOMK:
			switch {
			case h != nil:
				annos.Add(annotations.NewHistogramIgnoredInAggregationInfo("bottomk", e.PosRange))
			case int64(len(*hp)) < k:
				pushK(hp, s, true)
			case (*hp)[0].f > f || (math.IsNaN((*hp)[0].f) && !math.IsNaN(f)):
				(*hp)[0] = s
				if k > 1 {
					fixK(*hp, 0, true)
				}
			}
		case parser.LIMITK:
			if int64(len(*hp)) < k {
				pushK(hp, s, false)
			}
		case parser.LIMIT_RATIO:
			if addRatioSample(ratio, in[i].Metric) {
				pushK(hp, s, false)
			}
		}
	}
	return true
}

// orderedK returns a group's selection in output order: topk descending,
// bottomk ascending, limitk and limit_ratio as kept. It sorts through
// sorter, one per query, to save boxing the slice at every step.
func orderedK(op parser.ItemType, h byValueHeap, sorter *kSorter) byValueHeap {
	if len(h) < 2 {
		return h
	}
	switch op {
	case parser.TOPK, parser.BOTTOMK:
		*sorter = kSorter{h: h, bottom: op == parser.BOTTOMK}
		sort.Sort(sorter)
		sorter.h = nil
	}
	return h
}

// kSorter sorts like sort.Reverse over the heap's order (Prometheus's
// choice, so that ties come out the same way): largest first for topk,
// smallest first for bottomk.
type kSorter struct {
	h      byValueHeap
	bottom bool
}

func (s *kSorter) Len() int      { return len(s.h) }
func (s *kSorter) Swap(i, j int) { s.h[i], s.h[j] = s.h[j], s.h[i] }
func (s *kSorter) Less(i, j int) bool {
	if s.bottom {
		return byReverseValueHeap(s.h).Less(j, i)
	}
	return s.h.Less(j, i)
}

// addRatioSample decides whether limit_ratio keeps a series: its labels'
// hash, as a fraction of the hash space, falls within the ratio (counted
// from the top for a negative ratio). The choice is stable across steps.
func addRatioSample(ratio float64, metric labels.Labels) bool {
	offset := float64(metric.Hash()) / float64(math.MaxUint64)
	return (ratio >= 0 && offset < ratio) || (ratio < 0 && offset >= 1.0+ratio)
}
