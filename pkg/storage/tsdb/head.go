package tsdb

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/storage"
	"github.com/graftlabs/graft/pkg/storage/tsdb/index"
	"github.com/graftlabs/graft/pkg/storage/tsdb/wal"
)

// Head holds the newest samples in memory, in compressed chunks, with every
// commit logged to the WAL first.
type Head struct {
	// createMtx orders new refs into the postings (see createNew). It and
	// the counters every creation changes under it come first, together:
	// the lock passes between appenders' cores with one cache line, not
	// three.
	createMtx sync.Mutex
	lastRef   atomic.Uint64
	numSeries atomic.Int64
	// seriesGen changes whenever a series is created or removed (see
	// sorted).
	seriesGen atomic.Uint64

	blockRange int64
	wal        *wal.WAL // nil: no durability (tests, snapshots)

	series   *stripeSeries
	symbols  *symbolTable
	postings *index.MemPostings

	minTime, maxTime atomic.Int64 // bounds of the samples held
	// minValidTime refuses samples that belong to blocks already written.
	minValidTime atomic.Int64

	numSamples atomic.Int64
	// rejectedAtCommit counts samples a commit dropped because a sample of
	// the same series at or after their time was committed first.
	rejectedAtCommit atomic.Int64

	// applying is read-held by each commit from before it locks its
	// series until it has applied; exclusive holds it to wait for them.
	applying sync.RWMutex
	// beforeApply, when set (by tests), runs between a commit's WAL write
	// and its apply, to widen the window in which commits interleave.
	beforeApply func()

	exemplars *exemplarRing
	feed      *changeFeed

	// readers are the queriers reading the head, for truncation to wait on.
	readers readerEpochs
	// sorted caches the sorted series of recent selects of one seriesGen.
	sorted sortedCache
	// oooWindow accepts late samples within this of the newest (ms); 0: none.
	oooWindow int64
	oooSeq    atomic.Uint64
	// oooAppended counts late samples accepted.
	oooAppended atomic.Int64
}

// exclusive waits for the commits in flight to apply and keeps new ones
// out until the returned function is called.
func (h *Head) exclusive() (release func()) {
	h.applying.Lock()
	return h.applying.Unlock
}

// nextOOOSeq numbers the late chunks of every series.
func (h *Head) nextOOOSeq() uint64 { return h.oooSeq.Add(1) }

func newHead(w *wal.WAL, blockRange int64, maxExemplars int, feed *changeFeed) *Head {
	symbols := newSymbolTable()
	h := &Head{
		blockRange: blockRange,
		wal:        w,
		symbols:    symbols,
		series:     newStripeSeries(symbols),
		postings:   index.NewMemPostings(),
		exemplars:  newExemplarRing(maxExemplars),
		feed:       feed,
	}
	h.minTime.Store(math.MaxInt64)
	h.maxTime.Store(math.MinInt64)
	h.minValidTime.Store(math.MinInt64)
	return h
}

// getOrCreate returns the series with lset, creating it.
func (h *Head) getOrCreate(lset labels.Labels) (*memSeries, error) {
	hash := lset.Hash()
	if s := h.series.getByHash(hash, lset); s != nil {
		return s, nil
	}
	if lset.IsEmpty() {
		return nil, storage.ErrEmptyLabels
	}
	if name, dup := lset.HasDuplicateLabelNames(); dup {
		return nil, fmt.Errorf("%w: %q in %s", storage.ErrDuplicateLabelName, name, lset)
	}
	return h.createNew(hash, lset), nil
}

// createNew makes a series with a new ref. Concurrent appenders create
// series at once: taking the ref and adding the series to the postings
// under one lock keeps refs reaching the postings in increasing order, so
// that lists stay sorted by appending and readers may keep slices of them.
func (h *Head) createNew(hash uint64, lset labels.Labels) *memSeries {
	// Allocated before the lock, which only numbers it.
	ms := newMemSeries(0, h.symbols.intern(lset))
	h.createMtx.Lock()
	defer h.createMtx.Unlock()
	ms.ref = h.lastRef.Add(1)
	return h.add(hash, lset, ms)
}

// create makes a series with a logged ref (WAL replay, one goroutine).
func (h *Head) create(hash, ref uint64, lset labels.Labels) *memSeries {
	return h.add(hash, lset, newMemSeries(ref, h.symbols.intern(lset)))
}

// recreate makes a new series with the labels of s, which garbage
// collection removed (and released its symbols).
func (h *Head) recreate(s *memSeries) *memSeries {
	lset := *s.removed
	return h.createNew(lset.Hash(), lset)
}

// add registers ms, whose labels are lset, unless a series with them
// exists: that one is returned.
func (h *Head) add(hash uint64, lset labels.Labels, ms *memSeries) *memSeries {
	s, created := h.series.getOrSet(hash, ms)
	if !created {
		h.symbols.release(ms.syms)
		return s
	}
	var buf [32]uint64
	h.postings.Add(s.ref, lset, pairKeys(s.syms, buf[:0]))
	h.numSeries.Add(1)
	h.seriesChanged()
	return s
}

var scratchBuilders = sync.Pool{New: func() any { return &labels.ScratchBuilder{} }}

// labelsOf builds the labels of a series.
func (h *Head) labelsOf(s *memSeries) labels.Labels {
	sb := scratchBuilders.Get().(*labels.ScratchBuilder)
	l := h.symbols.labels(s.syms, sb)
	scratchBuilders.Put(sb)
	return l
}

// updateBounds widens the head's time range to include [mint, maxt].
func (h *Head) updateBounds(mint, maxt int64) {
	for {
		cur := h.minTime.Load()
		if mint >= cur || h.minTime.CompareAndSwap(cur, mint) {
			break
		}
	}
	for {
		cur := h.maxTime.Load()
		if maxt <= cur || h.maxTime.CompareAndSwap(cur, maxt) {
			break
		}
	}
}

// MinTime is the oldest sample's time, math.MaxInt64 when empty.
func (h *Head) MinTime() int64 { return h.minTime.Load() }

// MaxTime is the newest sample's time, math.MinInt64 when empty.
func (h *Head) MaxTime() int64 { return h.maxTime.Load() }

// truncate drops the in-order chunks that end before mint (and, with
// late, the late samples before mint) and the series left empty, and
// refuses new in-order samples before mint.
func (h *Head) truncate(mint int64, late bool) {
	defer h.exclusive()()
	if mint > h.minValidTime.Load() {
		h.minValidTime.Store(mint)
	}
	h.gc(func(s *memSeries) int {
		n := s.truncate(mint)
		if late {
			n += s.dropOOO(math.MinInt64, mint, false)
		}
		return n
	})
}

// dropPersisted drops what a block of [mint, maxt) now holds: the late
// samples it read and, with inOrder, the in-order chunks before maxt.
func (h *Head) dropPersisted(mint, maxt int64, inOrder bool) {
	defer h.exclusive()()
	h.gc(func(s *memSeries) int {
		n := s.dropOOO(mint, maxt, true)
		if inOrder {
			n += s.truncate(maxt)
		}
		return n
	})
}

// gc applies drop to every series (it returns how many samples went),
// removes the series left empty and recomputes the head's bounds. Callers
// hold the head exclusive.
func (h *Head) gc(drop func(*memSeries) int) {
	var gone []*memSeries
	newMin := int64(math.MaxInt64)
	h.series.forEach(func(s *memSeries) {
		s.mtx.Lock()
		h.numSamples.Add(-int64(drop(s)))
		if s.empty() {
			lset := h.labelsOf(s)
			s.removed = &lset
			gone = append(gone, s)
		} else {
			newMin = min(newMin, s.minT())
		}
		s.mtx.Unlock()
	})
	refs := make(map[uint64]struct{}, len(gone))
	for _, s := range gone {
		refs[s.ref] = struct{}{}
	}
	// Out of the postings before their symbols are freed: the postings
	// find lists by symbol ids, which a freed symbol hands to a new string.
	h.postings.Delete(refs)
	for _, s := range gone {
		h.series.remove(s, s.removed.Hash())
		h.symbols.release(s.syms)
		h.exemplars.orphan(s.ref, *s.removed)
	}
	h.numSeries.Add(-int64(len(gone)))
	if len(gone) > 0 {
		h.seriesChanged()
	}
	// The newest time stays: it is what late samples are measured against,
	// even when everything before it went to blocks.
	h.minTime.Store(newMin)
}

// raiseMinValid refuses in-order samples before t from now on. Commits in
// flight finish first, so that what a block cut below t reads is final.
func (h *Head) raiseMinValid(t int64) {
	defer h.exclusive()()
	if t > h.minValidTime.Load() {
		h.minValidTime.Store(t)
	}
}

// blockInput reads the head's samples in [mint, maxt) as a block's input.
// Chunks never span a block range boundary, so whole chunks are taken.
func (h *Head) blockInput(mint, maxt int64) blockInput {
	var list []*memSeries
	syms := map[string]struct{}{}
	h.series.forEach(func(s *memSeries) {
		s.mtx.Lock()
		has := s.hasDataIn(mint, maxt)
		s.mtx.Unlock()
		if has {
			list = append(list, s)
		}
	})
	h.symbols.mtx.RLock()
	for _, s := range list {
		h.symbols.pairs(s.syms, func(n, v string) bool {
			syms[n], syms[v] = struct{}{}, struct{}{}
			return true
		})
	}
	h.symbols.mtx.RUnlock()
	slices.SortFunc(list, func(a, b *memSeries) int { return h.symbols.compare(a.syms, b.syms) })
	in := blockInput{symbols: make([]string, 0, len(syms))}
	for s := range syms {
		in.symbols = append(in.symbols, s)
	}
	in.each = func(ctx context.Context, yield func(seriesChunks) error) error {
		for i, s := range list {
			if i%1024 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			s.mtx.Lock()
			cs := s.chunksIn(mint, maxt, h.nextOOOSeq)
			s.mtx.Unlock()
			if err := yield(seriesChunks{lset: h.labelsOf(s), chunks: cs}); err != nil {
				return err
			}
		}
		return nil
	}
	return in
}

// Appender opens an appender on the head.
func (h *Head) Appender(_ context.Context) storage.Appender {
	return &headAppender{head: h}
}
