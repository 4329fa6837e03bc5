package tsdb

import (
	"context"
	"math"

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
	st := storage.CardinalityLists(limit, func(yield func(name, value string, series uint64)) {
		h.postings.Range(func(name, value string, refs []uint64) { yield(name, value, uint64(len(refs))) })
	})
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
	return st, ctx.Err()
}
