package tsdb

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"time"

	"github.com/prometheus/prometheus/model/value"

	"github.com/graftlabs/graft/pkg/storage"
	"github.com/graftlabs/graft/pkg/storage/tsdb/chunkenc"
)

// Downsampling, as Thanos does it: raw blocks older than a configured age
// get a copy at 5m resolution, and those older still one at 1h, holding per
// window the count, sum, min and max of the values and a counter series
// (see chunkenc.AggrParts). Queries that accept a coarser resolution read
// them instead of the raw blocks, for long ranges at a fraction of the
// cost. Native histograms are not downsampled: their chunks are copied.
// Aggregates drop start timestamps: queries read none from them, so a
// counter reset that only a start timestamp shows is not seen there.
const (
	// Resolution5m and Resolution1h are the downsampled resolutions (ms).
	Resolution5m = int64(5 * time.Minute / time.Millisecond)
	Resolution1h = int64(time.Hour / time.Millisecond)

	// aggrWindowsPerChunk bounds the windows of one aggregate chunk.
	aggrWindowsPerChunk = 240
)

// aggregator accumulates the windows of one series at one resolution.
type aggregator struct {
	res   int64
	parts chunkenc.AggrParts
	out   []headChunk
	err   error

	win                  int64 // current window start, math.MinInt64 if none
	lastT                int64
	count, sum, min, max float64
	prevT                int64   // previous counter point seen
	prevV                float64 // its value
	prevKept, havePrev   bool
}

func newAggregator(res int64) *aggregator {
	return &aggregator{res: res, win: math.MinInt64}
}

// add takes the next value of the series (count, sum, min and max of one
// raw sample, or of a finer window), and counter points separately.
func (a *aggregator) add(t int64, count, sum, mn, mx float64) {
	if w := alignDown(t, a.res); w != a.win {
		a.flushWindow()
		a.win, a.count, a.sum, a.min, a.max = w, 0, 0, math.Inf(1), math.Inf(-1)
	}
	a.lastT = t
	a.count += count
	a.sum += sum
	a.min = math.Min(a.min, mn)
	a.max = math.Max(a.max, mx)
}

// addCounter takes the next point of the counter series: a point is kept
// if it is the first, the last of its window, or one a lower value (a
// reset) follows.
func (a *aggregator) addCounter(t int64, v float64) {
	first := !a.havePrev
	if a.havePrev {
		if alignDown(t, a.res) != alignDown(a.prevT, a.res) || v < a.prevV {
			a.keepPrev()
		}
	}
	a.prevT, a.prevV, a.prevKept, a.havePrev = t, v, false, true
	if first {
		a.keepPrev()
	}
}

func (a *aggregator) keepPrev() {
	if a.havePrev && !a.prevKept {
		a.parts.CounterT = append(a.parts.CounterT, a.prevT)
		a.parts.CounterV = append(a.parts.CounterV, a.prevV)
		a.prevKept = true
	}
}

// flushWindow ends the current window; every aggrWindowsPerChunk windows
// make a chunk.
func (a *aggregator) flushWindow() {
	if a.win == math.MinInt64 || a.count == 0 {
		return
	}
	p := &a.parts
	p.T = append(p.T, a.lastT)
	p.Count, p.Sum, p.Min, p.Max = append(p.Count, a.count), append(p.Sum, a.sum), append(p.Min, a.min), append(p.Max, a.max)
	// The window's last counter point belongs to it (it was added before
	// the next window's first value).
	if a.havePrev && alignDown(a.prevT, a.res) == a.win {
		a.keepPrev()
	}
	a.win = math.MinInt64
	if len(p.T) >= aggrWindowsPerChunk {
		a.cutChunk()
	}
}

func (a *aggregator) cutChunk() {
	p := a.parts
	if len(p.T) == 0 {
		return
	}
	data, err := chunkenc.EncodeAggr(p)
	if err != nil {
		a.err = err
		return
	}
	mint, maxt := p.T[0], p.T[len(p.T)-1]
	if len(p.CounterT) > 0 {
		mint, maxt = min(mint, p.CounterT[0]), max(maxt, p.CounterT[len(p.CounterT)-1])
	}
	a.out = append(a.out, headChunk{minT: mint, maxT: maxt, chunk: chunkenc.RawChunk{Enc: chunkenc.EncAggr, Data: data}})
	a.parts = chunkenc.AggrParts{}
}

func (a *aggregator) finish() ([]headChunk, error) {
	a.flushWindow()
	a.keepPrev()
	// A counter point kept after the last window flushed belongs to it.
	a.cutChunk()
	return a.out, a.err
}

// downsampleChunks turns a series' chunks of one block (raw, or aggregates
// of a finer resolution) into aggregate chunks at res; histogram chunks are
// kept as they are.
func downsampleChunks(cs []headChunk, res int64) ([]headChunk, error) {
	a := newAggregator(res)
	var hists []headChunk
	var it storage.Iterator
	for _, c := range cs {
		// Aggregates keep no start timestamps; histogram chunks keep theirs.
		switch c.chunk.Enc.Base() {
		case chunkenc.EncFloat:
			it = c.chunk.Iterator(it)
			for it.Next() == storage.ValFloat {
				t, v := it.At()
				if value.IsStaleNaN(v) {
					continue
				}
				a.add(t, 1, v, v, v)
				a.addCounter(t, v)
			}
			if err := it.Err(); err != nil {
				return nil, err
			}
		case chunkenc.EncAggr:
			p, err := chunkenc.DecodeAggr(c.chunk.Data)
			if err != nil {
				return nil, err
			}
			// Windows and counter points interleave by time.
			j := 0
			for i, t := range p.T {
				for j < len(p.CounterT) && p.CounterT[j] <= t {
					a.addCounter(p.CounterT[j], p.CounterV[j])
					j++
				}
				a.add(t, p.Count[i], p.Sum[i], p.Min[i], p.Max[i])
			}
			for ; j < len(p.CounterT); j++ {
				a.addCounter(p.CounterT[j], p.CounterV[j])
			}
		default:
			hists = append(hists, c)
		}
	}
	out, err := a.finish()
	if err != nil {
		return nil, err
	}
	out = append(out, hists...)
	slices.SortStableFunc(out, func(x, y headChunk) int { return cmpInt(x.minT, y.minT) })
	return out, nil
}

// downsampleSteps are the resolutions built and what each is built from.
func (db *DB) downsampleSteps() []struct {
	from, to int64
	after    time.Duration
} {
	return []struct {
		from, to int64
		after    time.Duration
	}{{0, Resolution5m, db.opts.Downsample5mAfter}, {Resolution5m, Resolution1h, db.opts.Downsample1hAfter}}
}

// downsample builds the downsampled blocks that are due.
func (db *DB) downsample(ctx context.Context) error {
	if db.opts.DisableDownsampling {
		return nil
	}
	newest := db.head.MaxTime()
	for _, step := range db.downsampleSteps() {
		for range 1000 { // bounded: each round downsamples one block
			src := db.nextToDownsample(step.from, step.to, newest-step.after.Milliseconds())
			if src == nil {
				break
			}
			if err := db.downsampleBlock(ctx, src, step.to); err != nil {
				return err
			}
		}
	}
	return nil
}

// nextToDownsample finds a block of resolution from, ending before
// before, that no block of resolution to was made from.
func (db *DB) nextToDownsample(from, to, before int64) *Block {
	db.mtx.RLock()
	defer db.mtx.RUnlock()
	done := maps.Clone(db.noDownsample)
	for _, b := range db.blocks {
		if b.meta.Resolution == to {
			done[b.meta.DownsampledFrom] = true
		}
	}
	for _, b := range db.blocks {
		if b.meta.Resolution == from && b.meta.MaxTime <= before && !done[b.meta.ULID] {
			return b
		}
	}
	return nil
}

// downsampleBlock writes src at resolution res and serves it, deleting the
// blocks of that resolution it supersedes (made from blocks that
// compaction merged into src).
func (db *DB) downsampleBlock(ctx context.Context, src *Block, res int64) error {
	began := time.Now()
	if !src.acquire() {
		return nil
	}
	defer src.release()
	in, err := blocksInput([]*Block{src})
	if err != nil {
		return err
	}
	each := in.each
	in.each = func(ctx context.Context, yield func(seriesChunks) error) error {
		return each(ctx, func(s seriesChunks) error {
			cs, err := downsampleChunks(s.chunks, res)
			if err != nil {
				return fmt.Errorf("downsample series %s: %w", s.lset, err)
			}
			return yield(seriesChunks{lset: s.lset, chunks: cs})
		})
	}
	meta := BlockMeta{MinTime: src.meta.MinTime, MaxTime: src.meta.MaxTime, Resolution: res, DownsampledFrom: src.meta.ULID,
		Compaction: BlockCompaction{Level: src.meta.Compaction.Level, Sources: src.meta.Compaction.Sources}}
	meta, err = writeBlock(ctx, db.dir, meta, in, nil)
	if errors.Is(err, errEmptyBlock) {
		db.mtx.Lock()
		db.noDownsample[src.meta.ULID] = true // nothing to downsample: do not try again
		db.mtx.Unlock()
		return nil
	}
	if err != nil {
		db.metrics.compactionsFailed.Inc()
		return fmt.Errorf("downsample block %s to %s: %w", src.meta.ULID, time.Duration(res)*time.Millisecond, err)
	}
	nb, err := OpenBlock(filepath.Join(db.dir, meta.ULID))
	if err != nil {
		db.metrics.compactionsFailed.Inc()
		return fmt.Errorf("open downsampled block: %w", err)
	}
	db.mtx.Lock()
	var superseded []*Block
	blocks := slices.DeleteFunc(slices.Clone(db.blocks), func(b *Block) bool {
		if b.meta.Resolution == res && b.meta.MinTime >= meta.MinTime && b.meta.MaxTime <= meta.MaxTime {
			superseded = append(superseded, b)
			return true
		}
		return false
	})
	db.setBlocks(append(blocks, nb))
	db.mtx.Unlock()
	// Selects at coarser resolutions now read other points for this range.
	db.feed.deleted(meta.MinTime, meta.MaxTime-1)
	var errs []error
	for _, b := range superseded {
		errs = append(errs, db.deleteBlock(b))
	}
	db.metrics.compactions.Inc()
	db.metrics.compactionDuration.Observe(time.Since(began).Seconds())
	db.logger.Info("Block downsampled", "block", meta.ULID, "from", src.meta.ULID, "resolution", time.Duration(res)*time.Millisecond,
		"series", meta.Stats.NumSeries, "duration", time.Since(began))
	return errors.Join(errs...)
}

// aggrFor is the aggregate that serves a query function on downsampled
// data, as Thanos chooses it.
func aggrFor(fn string) chunkenc.Aggr {
	switch fn {
	case "min_over_time":
		return chunkenc.AggrMin
	case "max_over_time":
		return chunkenc.AggrMax
	case "sum_over_time":
		return chunkenc.AggrSum
	case "count_over_time":
		return chunkenc.AggrCount
	case "rate", "increase", "irate", "resets":
		return chunkenc.AggrCounter
	}
	return chunkenc.AggrAvg
}
