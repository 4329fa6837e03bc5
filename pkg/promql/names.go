package promql

import (
	"errors"
	"math"
	"slices"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/schema"
)

var errDuplicateLabelset = errors.New("vector cannot contain metrics with the same labelset")

// dropMetricName removes the metric name and its type/unit metadata labels,
// where an operation changes the meaning of the value.
func dropMetricName(l labels.Labels) labels.Labels {
	return l.DropReserved(schema.IsMetadataLabel)
}

// markDropName records that s loses its metric name: now, or at the end of
// evaluation with delayed name removal.
func (ev *evaluator) markDropName(s *Series) {
	s.dropName = true
	if !ev.opts.delayedName {
		s.Metric = dropMetricName(s.Metric)
	}
}

// mergeSameLabels folds together series that ended up with the same labels
// (typically after dropping the metric name). Prometheus assembles results
// step by step keyed by labels, so such series merge as long as they never
// have a value at the same step; if they do, the query fails.
func mergeSameLabels(m Matrix) (Matrix, error) {
	if len(m) < 2 || !hasSameLabels(m) {
		return m, nil
	}
	index := make(map[string]int, len(m))
	out := m[:0:0]
	var buf []byte
	for _, s := range m {
		buf = s.Metric.Bytes(buf)
		i, ok := index[string(buf)]
		if !ok {
			index[string(buf)] = len(out)
			out = append(out, s)
			continue
		}
		merged, err := mergeSeries(out[i], s)
		if err != nil {
			return nil, err
		}
		out[i] = merged
	}
	return out, nil
}

// hasSameLabels reports whether two series of m share a labelset (by
// hash, as Prometheus does). It sorts the hashes instead of building a set:
// most results are small, and the check runs on every one.
func hasSameLabels(m Matrix) bool {
	if len(m) < 2 {
		return false
	}
	var buf [64]uint64
	hashes := buf[:0]
	if len(m) > len(buf) {
		hashes = make([]uint64, 0, len(m))
	}
	for i := range m {
		hashes = append(hashes, m[i].Metric.Hash())
	}
	return hasRepeats(hashes)
}

// hasRepeats reports whether a value occurs twice in hashes, which it
// sorts.
func hasRepeats(hashes []uint64) bool {
	slices.Sort(hashes)
	for i := 1; i < len(hashes); i++ {
		if hashes[i] == hashes[i-1] {
			return true
		}
	}
	return false
}

// mergeSeries merges two series with disjoint timestamps. Like Prometheus,
// which creates the merged series at the first step either has a value, the
// earlier series decides whether the name is dropped.
func mergeSeries(a, b Series) (Series, error) {
	dropName := a.dropName
	if firstT(b) < firstT(a) {
		dropName = b.dropName
	}
	floats := append(slices.Clip(a.Floats), b.Floats...)
	slices.SortFunc(floats, func(x, y FPoint) int { return cmpInt64(x.T, y.T) })
	for i := 1; i < len(floats); i++ {
		if floats[i].T == floats[i-1].T {
			return Series{}, errDuplicateLabelset
		}
	}
	hists := append(slices.Clip(a.Histograms), b.Histograms...)
	slices.SortFunc(hists, func(x, y HPoint) int { return cmpInt64(x.T, y.T) })
	for i := 1; i < len(hists); i++ {
		if hists[i].T == hists[i-1].T {
			return Series{}, errDuplicateLabelset
		}
	}
	// A float and a histogram at the same step are duplicates too.
	for i, j := 0, 0; i < len(floats) && j < len(hists); {
		switch {
		case floats[i].T == hists[j].T:
			return Series{}, errDuplicateLabelset
		case floats[i].T < hists[j].T:
			i++
		default:
			j++
		}
	}
	a.Floats, a.Histograms = floats, hists
	a.dropName = dropName
	return a, nil
}

// firstT is the timestamp of a series' first point.
func firstT(s Series) int64 {
	t := int64(math.MaxInt64)
	if len(s.Floats) > 0 {
		t = s.Floats[0].T
	}
	if len(s.Histograms) > 0 {
		t = min(t, s.Histograms[0].T)
	}
	return t
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// rejectSameLabels fails if two series share a labelset at all: the rule
// Prometheus applies to functions over range vectors.
func rejectSameLabels(m Matrix) error {
	if hasSameLabels(m) {
		return errDuplicateLabelset
	}
	return nil
}
