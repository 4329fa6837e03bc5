package tsdb

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// headReadersTimeout bounds how long a head truncation waits for queriers
// opened before the block it follows; a querier left open longer may miss
// the truncated samples.
const headReadersTimeout = time.Minute

// alignDown is the start of the range of width r that t falls in.
func alignDown(t, r int64) int64 {
	return chunkBoundary(t, r) - r
}

// compactHead cuts blocks of one block range from the head while it spans
// more than one and a half ranges, so that late samples of the newest range
// still land in the head. It reports whether a block was cut.
func (db *DB) compactHead(ctx context.Context) (bool, error) {
	r := db.opts.BlockRange.Milliseconds()
	cut := false
	// Late samples for ranges already in blocks: blocks of their own, that
	// compaction merges with the ones they overlap.
	minValid := db.head.minValidTime.Load()
	for _, w := range db.head.oooWindowsBefore(minValid) {
		if err := db.persistHeadRange(ctx, w, min(w+r, minValid), false); err != nil {
			return cut, err
		}
		cut = true
	}
	for range 10_000 { // bounded: each round removes a range from the head
		mint, maxt := db.head.MinTime(), db.head.MaxTime()
		if mint == math.MaxInt64 || maxt == math.MinInt64 || maxt-mint < r*3/2 {
			break
		}
		start := alignDown(mint, r)
		end := start + r
		// No sample below end is appended in order from now on, so the
		// chunks written are all there is to write.
		db.head.raiseMinValid(end)
		if err := db.persistHeadRange(ctx, start, end, true); err != nil {
			return cut, err
		}
		cut = true
	}
	return cut, nil
}

// persistHeadRange writes the head's samples in [start, end) to a block,
// serves it, and drops them from the head: the late samples it read and,
// with inOrder, the in-order chunks before end.
func (db *DB) persistHeadRange(ctx context.Context, start, end int64, inOrder bool) error {
	began := time.Now()
	meta := BlockMeta{MinTime: start, MaxTime: end, Compaction: BlockCompaction{Level: 1}}
	norm := &chunkNormalizer{maxSamples: db.opts.BlockChunkSamples, recode: true}
	meta, err := writeBlock(ctx, db.dir, meta, db.head.blockInput(start, end), norm)
	switch {
	case errors.Is(err, errEmptyBlock):
		db.logger.Debug("Head range held no samples", "mint", start, "maxt", end)
	case err != nil:
		db.metrics.compactionsFailed.Inc()
		return fmt.Errorf("cut block [%d, %d) from the head: %w", start, end, err)
	default:
		b, err := OpenBlock(filepath.Join(db.dir, meta.ULID))
		if err != nil {
			db.metrics.compactionsFailed.Inc()
			return fmt.Errorf("open block cut from the head: %w", err)
		}
		db.mtx.Lock()
		db.setBlocks(append(slices.Clone(db.blocks), b))
		epoch := db.head.readers.advance()
		db.mtx.Unlock()
		if !db.head.readers.waitBefore(epoch, headReadersTimeout) {
			db.logger.Warn("Queriers still open after a minute; truncating the head under them", "block", meta.ULID)
		}
		db.metrics.compactions.Inc()
		db.metrics.headCompactions.Inc()
		db.metrics.compactionDuration.Observe(time.Since(began).Seconds())
		db.logger.Info("Block cut from the head", "block", meta.ULID, "mint", start, "maxt", end,
			"series", meta.Stats.NumSeries, "samples", meta.Stats.NumSamples, "duration", time.Since(began))
	}
	db.head.dropPersisted(start, end, inOrder)
	return nil
}

// FlushHead writes everything the head holds to blocks of the block range
// and compacts them, leaving the head empty: for benchmarks and tools that
// want the data in its compacted form now.
func (db *DB) FlushHead(ctx context.Context) error {
	db.maintMtx.Lock()
	defer db.maintMtx.Unlock()
	r := db.opts.BlockRange.Milliseconds()
	if _, err := db.compactHead(ctx); err != nil {
		return err
	}
	for range 100_000 { // bounded: each round empties a range
		mint, maxt := db.head.MinTime(), db.head.MaxTime()
		if mint == math.MaxInt64 || maxt == math.MinInt64 {
			break
		}
		start := alignDown(mint, r)
		db.head.raiseMinValid(start + r)
		if err := db.persistHeadRange(ctx, start, start+r, true); err != nil {
			return err
		}
	}
	if err := db.head.checkpoint(db.logger); err != nil {
		return err
	}
	return db.compactBlocks(ctx)
}

// blockRanges are the spans compaction builds blocks of: the block range
// times powers of three, up to MaxBlockDuration.
func (db *DB) blockRanges() []int64 {
	r := db.opts.BlockRange.Milliseconds()
	out := []int64{r}
	for next := r * 3; next <= db.opts.MaxBlockDuration.Milliseconds(); next *= 3 {
		out = append(out, next)
	}
	return out
}

// compactBlocks merges blocks until the plan finds nothing to do.
func (db *DB) compactBlocks(ctx context.Context) error {
	for range 1000 {
		db.mtx.RLock()
		group := planCompaction(db.blocks, db.blockRanges())
		db.mtx.RUnlock()
		if len(group) == 0 {
			return nil
		}
		if err := db.compactGroup(ctx, group); err != nil {
			return err
		}
	}
	return nil
}

// planCompaction picks the next raw blocks to merge: blocks that overlap
// (late samples), else the oldest complete group of blocks sharing a window
// of the smallest range that has more than one. Downsampled blocks are not
// compacted: each is the copy of one raw block, replaced when that block
// is compacted into a larger one.
func planCompaction(blocks []*Block, ranges []int64) []*Block {
	var raw []*Block
	newest := int64(math.MinInt64)
	for _, b := range blocks {
		if b.meta.Resolution == 0 {
			raw = append(raw, b)
			newest = max(newest, b.meta.MaxTime)
		}
	}
	if g := overlappingGroup(raw); len(g) > 1 {
		return g
	}
	for _, rng := range ranges[1:] {
		if g := windowGroup(raw, rng, newest); len(g) > 1 {
			return g
		}
	}
	return nil
}

// overlappingGroup returns the first set of blocks (sorted by MinTime)
// whose time ranges overlap one another, transitively.
func overlappingGroup(bs []*Block) []*Block {
	for i := 0; i < len(bs); i++ {
		end := bs[i].meta.MaxTime
		j := i + 1
		for j < len(bs) && bs[j].meta.MinTime < end {
			end = max(end, bs[j].meta.MaxTime)
			j++
		}
		if j-i > 1 {
			return bs[i:j]
		}
	}
	return nil
}

// windowGroup returns the oldest group of blocks lying inside one aligned
// window of width rng that has ended (newest, the end of the newest block,
// is past it) and holds several blocks.
func windowGroup(bs []*Block, rng, newest int64) []*Block {
	var group []*Block
	cur := int64(math.MinInt64)
	for _, b := range bs {
		w := alignDown(b.meta.MinTime, rng)
		if b.meta.MaxTime > w+rng {
			continue // larger than the window
		}
		if w != cur {
			if len(group) > 1 && cur+rng <= newest {
				return group
			}
			group, cur = nil, w
		}
		group = append(group, b)
	}
	if len(group) > 1 && cur+rng <= newest {
		return group
	}
	return nil
}

// compactGroup merges blocks into one, serves it instead of them and
// deletes them. A crash after the new block is in place and before they
// are deleted is finished by the next start (loadBlocks).
func (db *DB) compactGroup(ctx context.Context, group []*Block) error {
	began := time.Now()
	var held []*Block
	defer func() {
		for _, b := range held {
			b.release()
		}
	}()
	meta := BlockMeta{MinTime: math.MaxInt64, MaxTime: math.MinInt64, Resolution: group[0].meta.Resolution}
	for _, b := range group {
		if !b.acquire() {
			return nil // being deleted or set aside: plan again next time
		}
		held = append(held, b)
		meta.MinTime, meta.MaxTime = min(meta.MinTime, b.meta.MinTime), max(meta.MaxTime, b.meta.MaxTime)
		meta.Compaction.Level = max(meta.Compaction.Level, b.meta.Compaction.Level+1)
		meta.Compaction.Sources = append(meta.Compaction.Sources, b.meta.Compaction.Sources...)
		meta.Compaction.Parents = append(meta.Compaction.Parents, b.meta.ULID)
	}
	slices.Sort(meta.Compaction.Sources)
	meta.Compaction.Sources = slices.Compact(meta.Compaction.Sources)
	in, err := blocksInput(held)
	if err == nil {
		meta, err = writeBlock(ctx, db.dir, meta, in, &chunkNormalizer{maxSamples: db.opts.BlockChunkSamples})
	}
	if errors.Is(err, errEmptyBlock) {
		err = nil
		meta.ULID = ""
	}
	if err != nil {
		db.metrics.compactionsFailed.Inc()
		return fmt.Errorf("compact %d blocks [%d, %d): %w", len(group), meta.MinTime, meta.MaxTime, err)
	}
	var nb *Block
	if meta.ULID != "" {
		if nb, err = OpenBlock(filepath.Join(db.dir, meta.ULID)); err != nil {
			db.metrics.compactionsFailed.Inc()
			return fmt.Errorf("open compacted block: %w", err)
		}
	}
	db.mtx.Lock()
	blocks := slices.DeleteFunc(slices.Clone(db.blocks), func(b *Block) bool { return slices.Contains(group, b) })
	if nb != nil {
		blocks = append(blocks, nb)
	}
	db.setBlocks(blocks)
	db.mtx.Unlock()
	for _, b := range held {
		b.release()
	}
	held = nil
	var errs []error
	for _, b := range group {
		errs = append(errs, db.deleteBlock(b))
	}
	db.metrics.compactions.Inc()
	db.metrics.compactionDuration.Observe(time.Since(began).Seconds())
	db.logger.Info("Blocks compacted", "block", meta.ULID, "parents", len(group), "mint", meta.MinTime, "maxt", meta.MaxTime,
		"level", meta.Compaction.Level, "duration", time.Since(began))
	return errors.Join(errs...)
}

// blocksInput reads blocks as one block input: their symbols' union, and
// their series merged by labels (chunks of a series found in several are
// joined, oldest block first).
func blocksInput(blocks []*Block) (blockInput, error) {
	seen := map[string]struct{}{}
	for _, b := range blocks {
		if err := b.index.Symbols(func(s string) error { seen[s] = struct{}{}; return nil }); err != nil {
			b.corrupt(err)
			return blockInput{}, fmt.Errorf("block %s: %w", b.meta.ULID, err)
		}
	}
	in := blockInput{symbols: make([]string, 0, len(seen))}
	for s := range seen {
		in.symbols = append(in.symbols, s)
	}
	sort.Strings(in.symbols)
	in.each = func(ctx context.Context, yield func(seriesChunks) error) error {
		all := labels.MustNewMatcher(labels.MatchRegexp, labels.MetricName, ".*")
		sets := make([]chunkSeriesSet, 0, len(blocks))
		for _, b := range blocks {
			sets = append(sets, b.selectSeries(ctx, math.MinInt64, math.MaxInt64, []*labels.Matcher{all}, false))
		}
		set := sets[0]
		if len(sets) > 1 {
			set = newMergeSet(sets) // it positions every set on its first series
		}
		for set.Next() {
			if err := yield(*set.At()); err != nil {
				return err
			}
		}
		return set.Err()
	}
	return in, nil
}

// applyRetention deletes the blocks older than the retention period, then
// the oldest blocks while the data directory exceeds the size limit.
func (db *DB) applyRetention() error {
	newest := db.head.MaxTime()
	db.mtx.RLock()
	for _, b := range db.blocks {
		newest = max(newest, b.meta.MaxTime-1)
	}
	db.mtx.RUnlock()
	if newest == math.MinInt64 {
		return nil
	}
	boundary := newest - db.opts.Retention.Milliseconds()
	err := db.deleteBlocksBefore(boundary, "time")
	db.truncateHead(boundary)
	if db.opts.RetentionSize > 0 {
		err = errors.Join(err, db.deleteForSize())
	}
	return err
}

// deleteBlocksBefore deletes the blocks that end at or before mint.
func (db *DB) deleteBlocksBefore(mint int64, reason string) error {
	db.mtx.Lock()
	var gone []*Block
	kept := slices.DeleteFunc(slices.Clone(db.blocks), func(b *Block) bool {
		if b.meta.MaxTime <= mint {
			gone = append(gone, b)
			return true
		}
		return false
	})
	if len(gone) > 0 {
		db.setBlocks(kept)
	}
	db.mtx.Unlock()
	return db.deleteForRetention(gone, reason)
}

// deleteForSize deletes the oldest blocks while blocks and WAL exceed
// RetentionSize. The head is never deleted for size.
func (db *DB) deleteForSize() error {
	total := db.walSize()
	db.mtx.Lock()
	bs := slices.Clone(db.blocks)
	for _, b := range bs {
		total += b.size
	}
	slices.SortStableFunc(bs, func(a, b *Block) int { return cmpInt(a.meta.MaxTime, b.meta.MaxTime) })
	var gone []*Block
	for len(bs) > 0 && total > db.opts.RetentionSize {
		total -= bs[0].size
		gone = append(gone, bs[0])
		bs = bs[1:]
	}
	if len(gone) > 0 {
		db.setBlocks(bs)
	}
	db.mtx.Unlock()
	return db.deleteForRetention(gone, "size")
}

func (db *DB) deleteForRetention(gone []*Block, reason string) error {
	var errs []error
	for _, b := range gone {
		db.logger.Info("Deleting block for retention", "block", b.meta.ULID, "reason", reason, "mint", b.meta.MinTime, "maxt", b.meta.MaxTime)
		errs = append(errs, db.deleteBlock(b))
		db.metrics.retentionDeletions.WithLabelValues(reason).Inc()
		db.feed.deleted(b.meta.MinTime, b.meta.MaxTime-1)
	}
	return errors.Join(errs...)
}
