// Package tsdb is Graft's time-series database: a head of compressed
// in-memory chunks behind a write-ahead log, cut into immutable blocks on
// disk (index, chunks, meta.json) that compaction merges into larger ones
// and retention deletes, and the queriers that merge head and blocks. Its
// parts live in sub-packages: chunkenc (chunk encodings), chunks (block
// chunk files), index (postings, matchers and the block index), wal
// (segments and records' framing), record (WAL record encoding), fileutil
// (durable file writes, memory mapping, the directory lock).
package tsdb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/storage"
	"github.com/graftlabs/graft/pkg/storage/tsdb/fileutil"
	"github.com/graftlabs/graft/pkg/storage/tsdb/index"
	"github.com/graftlabs/graft/pkg/storage/tsdb/wal"
)

const minInt64 = math.MinInt64

// Options configure a DB. The zero value is usable: see the defaults.
type Options struct {
	// Retention deletes blocks whose samples are all older than this behind
	// the newest sample (default 15 days).
	Retention time.Duration
	// RetentionSize, when positive, deletes the oldest blocks while blocks
	// and WAL together take more bytes than this.
	RetentionSize int64
	// BlockRange is the time span of the blocks cut from the head; chunks
	// are aligned to it (default 2h).
	BlockRange time.Duration
	// MaxBlockDuration bounds the blocks compaction builds (default: a
	// tenth of the retention, at most 31 days, at least BlockRange).
	MaxBlockDuration time.Duration
	// OutOfOrderTimeWindow accepts samples older than their series' newest
	// one, or than the head, if they are within this of the newest sample
	// (default 0: refused with storage.ErrOutOfOrderSample).
	OutOfOrderTimeWindow time.Duration
	// WALSegmentSize is the size of a WAL segment (default 64 MiB).
	WALSegmentSize int64
	// Fsync is when commits reach the disk (default: before Commit returns).
	Fsync wal.FsyncPolicy
	// FsyncInterval is the period of the interval fsync policy (default 1s).
	FsyncInterval time.Duration
	// CheckpointSize is the WAL size past which the head is checkpointed
	// and the WAL truncated, to keep replay short (default 256 MiB). A
	// checkpoint also follows every block cut from the head.
	CheckpointSize int64
	// MaxExemplars bounds the exemplars kept in memory (default 100,000).
	MaxExemplars int
	// MaintenanceInterval is how often compaction and retention run
	// (default 1 minute).
	MaintenanceInterval time.Duration
	// BlockChunkSamples is how many float samples the chunks of blocks cut
	// from the head hold at most (default 240).
	BlockChunkSamples int
	// Downsample5mAfter and Downsample1hAfter are the ages (behind the
	// newest sample) past which blocks get a 5m and a 1h downsampled copy
	// (defaults 40h and 10d, as Thanos); DisableDownsampling turns it off.
	Downsample5mAfter   time.Duration
	Downsample1hAfter   time.Duration
	DisableDownsampling bool
	Logger              *slog.Logger
	// Registerer receives the self-metrics (nil: not registered).
	Registerer prometheus.Registerer
}

// defaultBlockChunkSamples: longer chunks than the head's 120 compress
// better (fewer chunk headers and first samples); a query decodes at most
// this many samples it does not need.
const defaultBlockChunkSamples = 240

func (o *Options) setDefaults() {
	if o.Retention <= 0 {
		o.Retention = 15 * 24 * time.Hour
	}
	if o.BlockRange <= 0 {
		o.BlockRange = 2 * time.Hour
	}
	if o.MaxBlockDuration <= 0 {
		o.MaxBlockDuration = min(o.Retention/10, 31*24*time.Hour)
	}
	o.MaxBlockDuration = max(o.MaxBlockDuration, o.BlockRange)
	if o.CheckpointSize <= 0 {
		o.CheckpointSize = 256 << 20
	}
	if o.MaintenanceInterval <= 0 {
		o.MaintenanceInterval = time.Minute
	}
	if o.Downsample5mAfter <= 0 {
		o.Downsample5mAfter = 40 * time.Hour
	}
	if o.Downsample1hAfter <= 0 {
		o.Downsample1hAfter = 10 * 24 * time.Hour
	}
	if o.BlockChunkSamples <= 0 {
		o.BlockChunkSamples = defaultBlockChunkSamples
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// DB is a complete storage.Storage over one directory.
type DB struct {
	dir     string
	opts    Options
	logger  *slog.Logger
	lock    *fileutil.DirLock
	wal     *wal.WAL
	head    *Head
	feed    *changeFeed
	metrics *dbMetrics

	// mtx guards blocks, the list being served, and noDownsample.
	mtx    sync.RWMutex
	blocks []*Block
	// noDownsample are blocks found to hold nothing to downsample.
	noDownsample map[string]bool

	corruptMtx   sync.Mutex
	corrupt      []CorruptBlock
	settingAside map[string]bool

	// maintMtx serializes compaction, retention and checkpoints.
	maintMtx sync.Mutex
	ctx      context.Context // canceled by Close, stopping a compaction
	cancel   context.CancelFunc
	stop     chan struct{}
	done     chan struct{}
	bg       sync.WaitGroup
	closeMtx sync.Mutex
	closed   bool
}

// Open opens (or creates) the database in dir: it locks the directory,
// loads the blocks and replays the WAL into the head.
func Open(dir string, opts Options) (*DB, error) {
	opts.setDefaults()
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	lock, err := fileutil.LockDir(dir, lockFilename)
	if err != nil {
		return nil, err
	}
	db := &DB{dir: dir, opts: opts, logger: opts.Logger, lock: lock, settingAside: map[string]bool{}, noDownsample: map[string]bool{},
		stop: make(chan struct{}), done: make(chan struct{})}
	db.ctx, db.cancel = context.WithCancel(context.Background())
	if err := db.open(); err != nil {
		db.cancel()
		db.bg.Wait()
		db.mtx.Lock()
		closeAll(db.blocks)
		db.mtx.Unlock()
		db.metrics.unregister()
		lock.Release()
		return nil, err
	}
	go db.maintain()
	return db, nil
}

func (db *DB) open() error {
	db.feed = newChangeFeed(0, 5*time.Minute.Milliseconds())
	db.head = newHead(nil, db.opts.BlockRange.Milliseconds(), db.opts.MaxExemplars, db.feed)
	db.head.oooWindow = db.opts.OutOfOrderTimeWindow.Milliseconds()
	db.feed.headMax = db.head.MaxTime
	db.feed.lookup = func(ref uint64) labels.Labels {
		if s := db.head.series.getByRef(ref); s != nil {
			return db.head.labelsOf(s)
		}
		return labels.EmptyLabels()
	}
	db.metrics = newDBMetrics(db.opts.Registerer, db)
	if err := db.loadBlocks(); err != nil {
		return err
	}
	// Samples before the newest block's end are in blocks: replay skips
	// them and the checkpoint's chunks of them are dropped.
	blocksEnd := db.rawBlocksMaxTime()
	db.head.minValidTime.Store(blocksEnd)
	walDir := filepath.Join(db.dir, "wal")
	start := time.Now()
	st, err := db.head.replay(walDir, db.logger)
	if err != nil {
		return fmt.Errorf("replay WAL in %s: %w", walDir, err)
	}
	if st.repaired {
		db.metrics.walCorruptions.Inc()
	}
	if blocksEnd != minInt64 {
		// Late samples before blocksEnd may not be in blocks yet: kept.
		db.head.truncate(blocksEnd, false)
	}
	db.logger.Info("WAL replayed", "records", st.records, "samples", st.samples, "series", db.head.numSeries.Load(),
		"unknown_refs", st.unknownRefs, "repaired", st.repaired, "blocks", len(db.blocks), "duration", time.Since(start))
	db.wal, err = wal.Open(walDir, wal.Options{SegmentSize: db.opts.WALSegmentSize, Fsync: db.opts.Fsync, FsyncInterval: db.opts.FsyncInterval})
	if err != nil {
		return err
	}
	db.head.wal = db.wal
	return nil
}

// Dir is the database's directory.
func (db *DB) Dir() string { return db.dir }

// Head returns the in-memory head.
func (db *DB) Head() *Head { return db.head }

func (db *DB) maintain() {
	defer close(db.done)
	t := time.NewTicker(db.opts.MaintenanceInterval)
	defer t.Stop()
	for {
		select {
		case <-db.stop:
			return
		case <-t.C:
			if err := db.Maintain(db.ctx); err != nil && db.ctx.Err() == nil {
				db.logger.Error("Storage maintenance failed", "err", err)
			}
		}
	}
}

// Maintain cuts blocks from the head, compacts blocks, applies retention
// and checkpoints the head when blocks were cut or the WAL has grown; it
// runs periodically and may be called directly.
func (db *DB) Maintain(ctx context.Context) error {
	db.maintMtx.Lock()
	defer db.maintMtx.Unlock()
	cut, err := db.compactHead(ctx)
	errs := []error{err}
	if cut {
		// At once: until the WAL is truncated, a restart replays the late
		// samples just written to blocks into the head again.
		errs = append(errs, db.head.checkpoint(db.logger))
	}
	if err == nil {
		errs = append(errs, db.compactBlocks(ctx), db.downsample(ctx))
	}
	errs = append(errs, db.applyRetention())
	if db.wal.Size() > db.opts.CheckpointSize {
		errs = append(errs, db.head.checkpoint(db.logger))
	}
	return errors.Join(errs...)
}

// Truncate drops the samples older than mint: the head's, and the blocks
// that hold nothing newer. It does nothing while a compaction runs (which
// may take minutes), so that a periodic caller is never held up: it is
// meant to be called again.
func (db *DB) Truncate(mint int64) {
	if !db.maintMtx.TryLock() {
		return
	}
	defer db.maintMtx.Unlock()
	db.deleteBlocksBefore(mint, "time")
	db.truncateHead(mint)
}

func (db *DB) truncateHead(mint int64) {
	if db.head.MinTime() >= mint {
		return
	}
	db.head.truncate(mint, true)
	db.feed.deleted(math.MinInt64, mint-1)
}

// Checkpoint snapshots the head and truncates the WAL.
func (db *DB) Checkpoint() error {
	db.maintMtx.Lock()
	defer db.maintMtx.Unlock()
	return db.head.checkpoint(db.logger)
}

// Appender implements storage.Appendable.
func (db *DB) Appender(ctx context.Context) storage.Appender { return db.head.Appender(ctx) }

// Querier implements storage.Queryable: it reads the raw blocks that
// overlap [mint, maxt], oldest first, then the head, or their downsampled
// copies where a select's hints accept them. The blocks stay open until
// the querier is closed.
func (db *DB) Querier(mint, maxt int64) (storage.Querier, error) {
	db.mtx.RLock()
	q := &querier{mint: mint, maxt: maxt, db: db}
	q.sources = q.srcBuf[:0]
	for _, b := range db.blocks {
		if !b.overlaps(mint, maxt) || !b.acquire() {
			continue
		}
		q.held = append(q.held, b)
		if b.meta.Resolution == 0 {
			q.sources = append(q.sources, b)
			continue
		}
		if q.down == nil {
			q.down = map[string]*Block{}
		}
		q.down[b.meta.DownsampledFrom] = b
	}
	q.epoch = db.head.readers.enter()
	q.head = headSource{h: db.head, inOrderMin: db.rawBlocksMaxTime()}
	q.sources = append(q.sources, &q.head)
	db.mtx.RUnlock()
	return q, nil
}

// ChangesSince returns which series and time ranges changed after
// generation gen (late samples, backfill, deletions).
func (db *DB) ChangesSince(gen uint64) Changes { return db.feed.since(gen) }

// Stats implements storage.Storage: series are the head's (the active
// ones), samples and time bounds cover head and raw blocks.
func (db *DB) Stats() storage.Stats {
	st := storage.Stats{NumSeries: uint64(db.head.numSeries.Load()), NumSamples: uint64(max(db.head.numSamples.Load(), 0))}
	mint, maxt := db.head.MinTime(), db.head.MaxTime()
	db.mtx.RLock()
	for _, b := range db.blocks {
		if b.meta.Resolution == 0 {
			st.NumSamples += b.meta.Stats.NumSamples
			mint, maxt = min(mint, b.meta.MinTime), max(maxt, b.meta.MaxTime-1)
		}
	}
	db.mtx.RUnlock()
	if mint != math.MaxInt64 && maxt != math.MinInt64 {
		st.MinTime, st.MaxTime = mint, maxt
	}
	return st
}

func (db *DB) walSize() int64 {
	s, _ := fileutil.DirSize(filepath.Join(db.dir, "wal"))
	return s
}

func (db *DB) blocksSize() int64 {
	db.mtx.RLock()
	defer db.mtx.RUnlock()
	var n int64
	for _, b := range db.blocks {
		n += b.size
	}
	return n
}

// ExemplarQuerier implements storage.ExemplarQueryable.
func (db *DB) ExemplarQuerier(context.Context) (storage.ExemplarQuerier, error) {
	return exemplarQuerier{db.head}, nil
}

type exemplarQuerier struct{ h *Head }

func (q exemplarQuerier) Select(start, end int64, matchers ...[]*labels.Matcher) ([]exemplar.QueryResult, error) {
	want := map[uint64]bool{}
	orphans := q.h.exemplars.orphanLabels()
	for _, ms := range matchers {
		refs, err := index.Select(q.h.postings, ms...)
		if err != nil {
			return nil, err
		}
		for _, r := range refs {
			want[r] = true
		}
		for ref, lset := range orphans {
			if matchesAll(ms, lset) {
				want[ref] = true
			}
		}
	}
	var out []exemplar.QueryResult
	for ref, es := range q.h.exemplars.inRange(want, start, end) {
		var lset labels.Labels
		if s := q.h.series.getByRef(ref); s != nil {
			lset = q.h.labelsOf(s)
		} else if l, ok := orphans[ref]; ok {
			lset = l
		} else {
			continue
		}
		sort.SliceStable(es, func(i, j int) bool { return es[i].Ts < es[j].Ts })
		out = append(out, exemplar.QueryResult{SeriesLabels: lset, Exemplars: es})
	}
	sort.Slice(out, func(i, j int) bool { return labels.Compare(out[i].SeriesLabels, out[j].SeriesLabels) < 0 })
	return out, nil
}

func matchesAll(ms []*labels.Matcher, lset labels.Labels) bool {
	for _, m := range ms {
		if !m.Matches(lset.Get(m.Name)) {
			return false
		}
	}
	return true
}

// Close checkpoints the head, so that the next start loads it without
// replaying the WAL, closes the WAL and the blocks, and unlocks the
// directory.
func (db *DB) Close() error {
	return db.close(true)
}

// CloseWithoutCheckpoint closes without the shutdown checkpoint, leaving
// replay to the next start (as after a crash); benchmarks of replay use it.
func (db *DB) CloseWithoutCheckpoint() error {
	return db.close(false)
}

func (db *DB) close(checkpoint bool) error {
	db.closeMtx.Lock()
	defer db.closeMtx.Unlock()
	if db.closed {
		return nil
	}
	db.closed = true
	db.cancel()
	close(db.stop)
	<-db.done
	db.bg.Wait()
	db.maintMtx.Lock()
	defer db.maintMtx.Unlock()
	var errs []error
	if checkpoint {
		errs = append(errs, db.head.checkpoint(db.logger))
	}
	errs = append(errs, db.wal.Close())
	db.mtx.Lock()
	for _, b := range db.blocks {
		errs = append(errs, b.Close())
	}
	db.blocks = nil
	db.mtx.Unlock()
	db.metrics.unregister()
	errs = append(errs, db.lock.Release())
	return errors.Join(errs...)
}
