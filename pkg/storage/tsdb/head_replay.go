package tsdb

import (
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/graftlabs/graft/pkg/storage/tsdb/record"
)

// replayShards apply replayed samples on one goroutine per CPU, each
// owning the series whose ref falls in its shard, so that every series
// still gets its samples in WAL order. Series records are applied by the
// reader before any later record is handed out.
//
// The reader, which decodes the WAL, is the replay's critical path: it
// hands samples over as the decoder made them (32 bytes a float) in small
// batches that a few buffers recycle, so that its copies land in cache
// rather than in memory last touched a hundred thousand samples ago.
type replayShards struct {
	h       *Head
	st      *replayStats
	batches []*replayBatch
	chans   []chan *replayBatch
	free    chan *replayBatch
	wg      sync.WaitGroup
	added   atomic.Int64
	unknown atomic.Int64
}

// replayBatch is a run of one shard's samples of one kind: floats or
// histograms, in order or late. A record holds one kind; a shard's batch
// is sent before it takes another, which keeps each series' order.
type replayBatch struct {
	late   bool
	floats []record.RefSample
	hists  []record.RefHistogram
}

func (b *replayBatch) len() int { return len(b.floats) + len(b.hists) }

const (
	// replayBatchSize is how many samples a shard is handed at once.
	replayBatchSize = 1024
	// replayQueue is how many batches may wait for each shard.
	replayQueue = 4
)

func (h *Head) startReplayShards(st *replayStats) *replayShards {
	n := max(runtime.GOMAXPROCS(0), 1)
	rs := &replayShards{
		h: h, st: st, batches: make([]*replayBatch, n), chans: make([]chan *replayBatch, n),
		free: make(chan *replayBatch, (replayQueue+2)*n),
	}
	for i := range rs.chans {
		rs.batches[i] = &replayBatch{}
		rs.chans[i] = make(chan *replayBatch, replayQueue)
		rs.wg.Add(1)
		go rs.work(rs.chans[i])
	}
	return rs
}

// use readies every shard's batch for samples of one kind: a batch
// holding another kind is sent first.
func (rs *replayShards) use(hist, late bool) {
	for i, b := range rs.batches {
		if b.len() > 0 && ((len(b.hists) > 0) != hist || b.late != late) {
			rs.send(i)
			b = rs.batches[i]
		}
		b.late = late
	}
}

func (rs *replayShards) addFloats(samples []record.RefSample, late bool) {
	rs.use(false, late)
	for _, s := range samples {
		i := s.Ref % uint64(len(rs.batches))
		b := rs.batches[i]
		b.floats = append(b.floats, s)
		if len(b.floats) >= replayBatchSize {
			rs.send(int(i))
		}
	}
}

func (rs *replayShards) addHistograms(hists []record.RefHistogram, late bool) {
	rs.use(true, late)
	for _, s := range hists {
		i := s.Ref % uint64(len(rs.batches))
		b := rs.batches[i]
		b.hists = append(b.hists, s)
		if len(b.hists) >= replayBatchSize {
			rs.send(int(i))
		}
	}
}

// send hands shard i its batch and starts the next in a free one.
func (rs *replayShards) send(i int) {
	b := rs.batches[i]
	rs.chans[i] <- b
	select {
	case next := <-rs.free:
		next.late = b.late
		rs.batches[i] = next
	default:
		rs.batches[i] = &replayBatch{late: b.late}
	}
}

func (rs *replayShards) wait() {
	for i, b := range rs.batches {
		if b.len() > 0 {
			rs.send(i)
		}
	}
	for _, c := range rs.chans {
		close(c)
	}
	rs.wg.Wait()
	rs.st.samples += int(rs.added.Load())
	rs.st.unknownRefs += int(rs.unknown.Load())
}

// shardApplier applies one shard's samples. No series lock is taken:
// during replay a series is touched by its shard only, and Open returns
// after wait.
type shardApplier struct {
	rs         *replayShards
	added      int64
	mint, maxt int64
	// Refs are dense: a slice caches the series lookups of the shard.
	cache []*memSeries
}

func (rs *replayShards) work(c chan *replayBatch) {
	defer rs.wg.Done()
	a := shardApplier{rs: rs, mint: math.MaxInt64, maxt: math.MinInt64}
	for b := range c {
		minValid := rs.h.minValidTime.Load()
		for _, s := range b.floats {
			a.apply(s.Ref, pendingSample{t: s.T, st: s.ST, v: s.V, ooo: b.late}, minValid)
		}
		for _, s := range b.hists {
			a.apply(s.Ref, pendingSample{t: s.T, st: s.ST, h: s.H, fh: s.FH, ooo: b.late}, minValid)
		}
		clear(b.hists) // drop the histograms
		b.floats, b.hists = b.floats[:0], b.hists[:0]
		select {
		case rs.free <- b:
		default:
		}
	}
	if a.added > 0 {
		rs.h.numSamples.Add(a.added)
	}
	if a.maxt != math.MinInt64 {
		rs.h.updateBounds(a.mint, a.maxt)
	}
	rs.added.Add(a.added)
}

func (a *shardApplier) apply(ref uint64, p pendingSample, minValid int64) {
	s := a.series(ref)
	if s == nil {
		a.rs.unknown.Add(1)
		return
	}
	if p.t < minValid && !p.ooo {
		return // in a block already
	}
	if a.rs.h.applySample(s, p) {
		a.added++
		if s.maxT.Load() == p.t {
			a.mint, a.maxt = min(a.mint, p.t), max(a.maxt, p.t)
		}
	}
}

func (a *shardApplier) series(ref uint64) *memSeries {
	if ref < uint64(len(a.cache)) {
		if s := a.cache[ref]; s != nil {
			return s
		}
	}
	s := a.rs.h.series.getByRef(ref)
	if s != nil && ref < 1<<26 {
		if ref >= uint64(len(a.cache)) {
			a.cache = append(a.cache, make([]*memSeries, int(ref)+1-len(a.cache)+len(a.cache)/2)...)
		}
		a.cache[ref] = s
	}
	return s
}
