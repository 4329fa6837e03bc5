package storage

import (
	"container/heap"
	"sort"

	"github.com/prometheus/prometheus/model/labels"
)

// CardinalityLists builds the lists of CardinalityStats, at most limit
// entries each, from the series count of every label pair: pairs calls
// yield once per pair. Head.NumLabelPairs is set; the other head figures
// are the caller's.
func CardinalityLists(limit int, pairs func(yield func(name, value string, series uint64))) CardinalityStats {
	var st CardinalityStats
	byMetric, byName, bySize, byPair := newTopN(limit), newTopN(limit), newTopN(limit), newTopN(limit)
	perName := map[string]*[2]uint64{} // values, bytes
	pairs(func(name, value string, n uint64) {
		if n == 0 {
			return
		}
		st.Head.NumLabelPairs++
		if name == labels.MetricName {
			byMetric.push(value, n)
		}
		byPair.push(name+"="+value, n)
		e := perName[name]
		if e == nil {
			e = &[2]uint64{}
			perName[name] = e
		}
		e[0]++
		e[1] += labels.SizeOfLabels(name, value, n)
	})
	for name, e := range perName {
		byName.push(name, e[0])
		bySize.push(name, e[1])
	}
	st.SeriesCountByMetricName = byMetric.sorted()
	st.LabelValueCountByLabelName = byName.sorted()
	st.MemoryInBytesByLabelName = bySize.sorted()
	st.SeriesCountByLabelValuePair = byPair.sorted()
	return st
}

// topN keeps the limit largest entries in a min-heap.
type topN struct {
	limit   int
	entries []StatEntry
}

func newTopN(limit int) *topN { return &topN{limit: max(limit, 1)} }

func (t *topN) Len() int           { return len(t.entries) }
func (t *topN) Less(i, j int) bool { return lessEntry(t.entries[i], t.entries[j]) }
func (t *topN) Swap(i, j int)      { t.entries[i], t.entries[j] = t.entries[j], t.entries[i] }
func (t *topN) Push(x any)         { t.entries = append(t.entries, x.(StatEntry)) }
func (t *topN) Pop() any {
	e := t.entries[len(t.entries)-1]
	t.entries = t.entries[:len(t.entries)-1]
	return e
}

// lessEntry orders by value, then by name descending, so that ties keep
// the names that sort first.
func lessEntry(a, b StatEntry) bool {
	if a.Value != b.Value {
		return a.Value < b.Value
	}
	return a.Name > b.Name
}

func (t *topN) push(name string, v uint64) {
	e := StatEntry{Name: name, Value: v}
	if len(t.entries) < t.limit {
		heap.Push(t, e)
		return
	}
	if lessEntry(t.entries[0], e) {
		t.entries[0] = e
		heap.Fix(t, 0)
	}
}

// sorted returns the entries largest first.
func (t *topN) sorted() []StatEntry {
	out := append([]StatEntry(nil), t.entries...)
	sort.Slice(out, func(i, j int) bool { return lessEntry(out[j], out[i]) })
	return out
}
