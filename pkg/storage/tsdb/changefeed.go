package tsdb

import (
	"math"
	"sort"
	"sync"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/storage"
)

// Change and Changes are the storage package's: the DB implements
// storage.ChangeFeed.
type (
	Change  = storage.Change
	Changes = storage.Changes
)

// changeFeed records which time ranges of which series changed, so that a
// results cache can invalidate exactly. Appends near the newest time of the
// head (within recentWindow) are folded into one all-series change per
// commit; older ones (late samples, backfill) and deletions are recorded per
// series. The record is a bounded ring.
type changeFeed struct {
	mtx          sync.Mutex
	gen          uint64
	ring         []Change // grows to max, then wraps
	max          int
	next         int
	full         bool
	evictedGen   uint64 // newest generation with a record overwritten
	recentWindow int64
	headMax      func() int64
	lookup       func(ref uint64) labels.Labels
}

func newChangeFeed(size int, recentWindow int64) *changeFeed {
	if size <= 0 {
		size = 1 << 16
	}
	return &changeFeed{max: size, recentWindow: recentWindow}
}

// feedBatch accumulates the changes of one commit. Each appender has its
// own: commits apply their samples concurrently.
type feedBatch struct {
	floor                int64
	recentMin, recentMax int64
	exact                map[uint64][2]int64
}

// begin readies b for a commit: samples at or after the floor count as
// recent.
func (f *changeFeed) begin(b *feedBatch) {
	b.floor = math.MinInt64
	if f.headMax != nil {
		if hm := f.headMax(); hm != math.MinInt64 {
			b.floor = hm - f.recentWindow
		}
	}
	b.recentMin, b.recentMax = math.MaxInt64, math.MinInt64
	if len(b.exact) > 1024 {
		b.exact = nil // do not keep the buckets of one large backfill
	} else {
		clear(b.exact)
	}
}

// observe records one appended sample of series ref. A sample near the
// newest time, even a new series' first, joins the commit's all-series
// change: only late samples and backfill are worth recording per series.
func (b *feedBatch) observe(ref uint64, t int64) {
	if t >= b.floor {
		b.recentMin, b.recentMax = min(b.recentMin, t), max(b.recentMax, t)
		return
	}
	if b.exact == nil {
		b.exact = map[uint64][2]int64{}
	}
	r, ok := b.exact[ref]
	if !ok {
		r = [2]int64{t, t}
	}
	b.exact[ref] = [2]int64{min(r[0], t), max(r[1], t)}
}

// commit closes the changes of one commit into a generation.
func (f *changeFeed) commit(b *feedBatch) {
	if b.recentMin == math.MaxInt64 && len(b.exact) == 0 {
		return
	}
	f.mtx.Lock()
	defer f.mtx.Unlock()
	f.gen++
	if b.recentMin != math.MaxInt64 {
		f.put(Change{Generation: f.gen, MinT: b.recentMin, MaxT: b.recentMax})
	}
	for ref, r := range b.exact {
		lset := labels.EmptyLabels()
		if f.lookup != nil {
			lset = f.lookup(ref)
		}
		if lset.IsEmpty() {
			continue
		}
		f.put(Change{Generation: f.gen, Labels: lset, MinT: r[0], MaxT: r[1]})
	}
}

// deleted records that samples of every series within [mint, maxt] went
// (retention, a block set aside) or were replaced (downsampled copies).
func (f *changeFeed) deleted(mint, maxt int64) {
	f.mtx.Lock()
	defer f.mtx.Unlock()
	f.gen++
	f.put(Change{Generation: f.gen, MinT: mint, MaxT: maxt})
}

func (f *changeFeed) put(c Change) {
	if len(f.ring) < f.max {
		f.ring = append(f.ring, c)
		f.full = len(f.ring) == f.max
		return
	}
	if f.full {
		f.evictedGen = f.ring[f.next].Generation
	}
	f.ring[f.next] = c
	f.next = (f.next + 1) % len(f.ring)
	if f.next == 0 {
		f.full = true
	}
}

// since returns the changes after generation gen.
func (f *changeFeed) since(gen uint64) Changes {
	f.mtx.Lock()
	defer f.mtx.Unlock()
	out := Changes{Generation: f.gen, Complete: true}
	if gen >= f.gen {
		return out
	}
	out.Complete = f.evictedGen <= gen
	n, first := len(f.ring), 0
	if f.full {
		first = f.next
	}
	// Records are in generation order from first: a results cache asks on
	// every query, so skip the old ones by bisection instead of a scan
	// under the lock commits take.
	at := func(i int) Change { return f.ring[(first+i)%n] }
	from := sort.Search(n, func(i int) bool { return at(i).Generation > gen })
	out.Changes = make([]Change, 0, n-from)
	for i := from; i < n; i++ {
		out.Changes = append(out.Changes, at(i))
	}
	return out
}
