package tsdb

import (
	"container/heap"
	"context"
	"math"
	"sort"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/storage"
)

// What the DB implements beyond storage.Storage.
var (
	_ storage.Storage            = (*DB)(nil)
	_ storage.ChangeFeed         = (*DB)(nil)
	_ storage.CardinalityStatter = (*DB)(nil)
)

// CardinalityStats implements storage.CardinalityStatter over the head's
// series, as Prometheus's /api/v1/status/tsdb does.
func (db *DB) CardinalityStats(ctx context.Context, limit int) (storage.CardinalityStats, error) {
	h := db.head
	var st storage.CardinalityStats
	st.Head.NumSeries = uint64(max(h.numSeries.Load(), 0))
	if mint, maxt := h.MinTime(), h.MaxTime(); mint != math.MaxInt64 && maxt != math.MinInt64 {
		st.Head.MinTime, st.Head.MaxTime = mint, maxt
	}
	h.series.forEach(func(s *memSeries) {
		s.mtx.Lock()
		n := len(s.sealed)
		if s.open != nil {
			n++
		}
		if s.ooo != nil {
			n += len(s.ooo.chunks)
		}
		s.mtx.Unlock()
		st.Head.ChunkCount += int64(n)
	})
	if err := ctx.Err(); err != nil {
		return st, err
	}
	byMetric, byName, bySize, byPair := newTopN(limit), newTopN(limit), newTopN(limit), newTopN(limit)
	perName := map[string]*[2]uint64{} // values, bytes
	h.postings.Range(func(name, value string, refs []uint64) {
		n := uint64(len(refs))
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
	return st, nil
}

// topN keeps the limit largest entries in a min-heap.
type topN struct {
	limit   int
	entries []storage.StatEntry
}

func newTopN(limit int) *topN { return &topN{limit: max(limit, 1)} }

func (t *topN) Len() int           { return len(t.entries) }
func (t *topN) Less(i, j int) bool { return less(t.entries[i], t.entries[j]) }
func (t *topN) Swap(i, j int)      { t.entries[i], t.entries[j] = t.entries[j], t.entries[i] }
func (t *topN) Push(x any)         { t.entries = append(t.entries, x.(storage.StatEntry)) }
func (t *topN) Pop() any {
	e := t.entries[len(t.entries)-1]
	t.entries = t.entries[:len(t.entries)-1]
	return e
}

// less orders by value, then by name descending, so that ties keep the
// names that sort first.
func less(a, b storage.StatEntry) bool {
	if a.Value != b.Value {
		return a.Value < b.Value
	}
	return a.Name > b.Name
}

func (t *topN) push(name string, v uint64) {
	e := storage.StatEntry{Name: name, Value: v}
	if len(t.entries) < t.limit {
		heap.Push(t, e)
		return
	}
	if less(t.entries[0], e) {
		t.entries[0] = e
		heap.Fix(t, 0)
	}
}

// sorted returns the entries largest first.
func (t *topN) sorted() []storage.StatEntry {
	out := append([]storage.StatEntry(nil), t.entries...)
	sort.Slice(out, func(i, j int) bool { return less(out[j], out[i]) })
	return out
}
