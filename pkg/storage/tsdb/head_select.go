package tsdb

import (
	"encoding/binary"
	"slices"
	"sync"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/storage/tsdb/index"
)

// Dashboards repeat the same selects every refresh. The head keeps the
// label-sorted series of the last selects, valid while no series was
// created or removed (as Mimir caches postings for matchers), so that a
// repeated select skips the index and the sort.
const (
	sortedCacheEntries = 64
	sortedCacheMaxLen  = 100_000
)

type sortedCache struct {
	mtx     sync.Mutex
	gen     uint64
	entries map[string][]*memSeries
	order   []string // insertion order, for eviction
}

// seriesChanged invalidates the cached selects.
func (h *Head) seriesChanged() { h.seriesGen.Add(1) }

// sortedSeries returns the series matching ms, sorted by labels.
func (h *Head) sortedSeries(ms []*labels.Matcher) ([]*memSeries, error) {
	var buf [256]byte
	key := appendMatchersKey(buf[:0], ms)
	gen := h.seriesGen.Load()
	c := &h.sorted
	c.mtx.Lock()
	if c.gen != gen {
		c.gen, c.entries, c.order = gen, nil, nil
	}
	if hit, ok := c.entries[string(key)]; ok { // no allocation for the lookup
		c.mtx.Unlock()
		return hit, nil
	}
	c.mtx.Unlock()

	refs, err := index.Select(h.postings, ms...)
	if err != nil {
		return nil, err
	}
	series := make([]*memSeries, 0, len(refs))
	for _, ref := range refs {
		if s := h.series.getByRef(ref); s != nil {
			series = append(series, s)
		}
	}
	// Sort the pointers, not results: swaps move 8 bytes.
	h.symbols.mtx.RLock()
	slices.SortFunc(series, func(a, b *memSeries) int { return h.symbols.compareLocked(a.syms, b.syms) })
	h.symbols.mtx.RUnlock()

	if len(series) <= sortedCacheMaxLen && h.seriesGen.Load() == gen {
		c.mtx.Lock()
		if c.gen == gen {
			if c.entries == nil {
				c.entries = map[string][]*memSeries{}
			}
			if len(c.order) >= sortedCacheEntries {
				delete(c.entries, c.order[0])
				c.order = c.order[1:]
			}
			k := string(key)
			c.entries[k] = slices.Clip(series)
			c.order = append(c.order, k)
		}
		c.mtx.Unlock()
	}
	return series, nil
}

// appendMatchersKey appends a key that tells matcher lists apart: each
// matcher's type, then its name and value, length-prefixed.
func appendMatchersKey(b []byte, ms []*labels.Matcher) []byte {
	for _, m := range ms {
		b = append(b, byte(m.Type))
		b = binary.AppendUvarint(b, uint64(len(m.Name)))
		b = append(b, m.Name...)
		b = binary.AppendUvarint(b, uint64(len(m.Value)))
		b = append(b, m.Value...)
	}
	return b
}
