// Package tsdb is Graft's time-series database: a head of compressed
// in-memory chunks behind a write-ahead log, checkpoints that keep replay
// short, and the queriers over it. Its parts live in sub-packages: chunkenc
// (chunk encodings), wal (segments and records' framing), record (WAL record
// encoding), index (postings and matchers), fileutil (durable file writes).
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

	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/storage"
	"github.com/graftlabs/graft/pkg/storage/tsdb/index"
	"github.com/graftlabs/graft/pkg/storage/tsdb/wal"
)

// Options configure a DB. The zero value is usable: see the defaults.
type Options struct {
	// Retention drops samples older than this behind the newest one
	// (default 15 days).
	Retention time.Duration
	// BlockRange is the time span chunks are aligned to (default 2h).
	BlockRange time.Duration
	// WALSegmentSize is the size of a WAL segment (default 64 MiB).
	WALSegmentSize int64
	// Fsync is when commits reach the disk (default: before Commit returns).
	Fsync wal.FsyncPolicy
	// FsyncInterval is the period of the interval fsync policy (default 1s).
	FsyncInterval time.Duration
	// CheckpointSize is the WAL size past which the head is checkpointed
	// and the WAL truncated, to keep replay short (default 256 MiB).
	CheckpointSize int64
	// MaxExemplars bounds the exemplars kept in memory (default 100,000).
	MaxExemplars int
	// MaintenanceInterval is how often retention and checkpoints run
	// (default 1 minute).
	MaintenanceInterval time.Duration
	Logger              *slog.Logger
}

func (o *Options) setDefaults() {
	if o.Retention <= 0 {
		o.Retention = 15 * 24 * time.Hour
	}
	if o.BlockRange <= 0 {
		o.BlockRange = 2 * time.Hour
	}
	if o.CheckpointSize <= 0 {
		o.CheckpointSize = 256 << 20
	}
	if o.MaintenanceInterval <= 0 {
		o.MaintenanceInterval = time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// DB is a complete storage.Storage over one directory.
type DB struct {
	dir    string
	opts   Options
	logger *slog.Logger
	wal    *wal.WAL
	head   *Head
	feed   *changeFeed

	// maintMtx serializes retention and checkpoints.
	maintMtx sync.Mutex
	stop     chan struct{}
	done     chan struct{}
	closeMtx sync.Mutex
	closed   bool
}

// Open opens (or creates) the database in dir, replaying its WAL.
func Open(dir string, opts Options) (*DB, error) {
	opts.setDefaults()
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	db := &DB{dir: dir, opts: opts, logger: opts.Logger, stop: make(chan struct{}), done: make(chan struct{})}
	db.feed = newChangeFeed(0, 5*time.Minute.Milliseconds())
	db.head = newHead(nil, opts.BlockRange.Milliseconds(), opts.MaxExemplars, db.feed)
	db.feed.headMax = db.head.MaxTime
	db.feed.lookup = func(ref uint64) labels.Labels {
		if s := db.head.series.getByRef(ref); s != nil {
			return s.lset
		}
		return labels.EmptyLabels()
	}
	walDir := filepath.Join(dir, "wal")
	start := time.Now()
	st, err := db.head.replay(walDir, db.logger)
	if err != nil {
		return nil, fmt.Errorf("replay WAL in %s: %w", walDir, err)
	}
	db.logger.Info("WAL replayed", "records", st.records, "samples", st.samples, "series", db.head.numSeries.Load(),
		"unknown_refs", st.unknownRefs, "repaired", st.repaired, "duration", time.Since(start))
	db.wal, err = wal.Open(walDir, wal.Options{SegmentSize: opts.WALSegmentSize, Fsync: opts.Fsync, FsyncInterval: opts.FsyncInterval})
	if err != nil {
		return nil, err
	}
	db.head.wal = db.wal
	go db.maintain()
	return db, nil
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
			if err := db.Maintain(); err != nil {
				db.logger.Error("Storage maintenance failed", "err", err)
			}
		}
	}
}

// Maintain applies retention and checkpoints the head when the WAL has
// grown; it runs periodically and may be called directly.
func (db *DB) Maintain() error {
	db.maintMtx.Lock()
	defer db.maintMtx.Unlock()
	if maxT := db.head.MaxTime(); maxT != math.MinInt64 {
		db.truncate(maxT - db.opts.Retention.Milliseconds())
	}
	if db.wal.Size() > db.opts.CheckpointSize {
		return db.head.checkpoint(db.logger)
	}
	return nil
}

// Truncate drops every sample older than mint.
func (db *DB) Truncate(mint int64) {
	db.maintMtx.Lock()
	defer db.maintMtx.Unlock()
	db.truncate(mint)
}

func (db *DB) truncate(mint int64) {
	if db.head.MinTime() >= mint {
		return
	}
	db.head.truncate(mint)
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

// Querier implements storage.Queryable.
func (db *DB) Querier(mint, maxt int64) (storage.Querier, error) {
	return &querier{sources: []source{db.head}, mint: mint, maxt: maxt}, nil
}

// ChangesSince returns which series and time ranges changed after
// generation gen (late samples, backfill, deletions).
func (db *DB) ChangesSince(gen uint64) Changes { return db.feed.since(gen) }

// Stats implements storage.Storage.
func (db *DB) Stats() storage.Stats {
	st := storage.Stats{NumSeries: uint64(db.head.numSeries.Load()), NumSamples: uint64(max(db.head.numSamples.Load(), 0))}
	if mint, maxt := db.head.MinTime(), db.head.MaxTime(); mint != math.MaxInt64 && maxt != math.MinInt64 {
		st.MinTime, st.MaxTime = mint, maxt
	}
	return st
}

// ExemplarQuerier implements storage.ExemplarQueryable.
func (db *DB) ExemplarQuerier(context.Context) (storage.ExemplarQuerier, error) {
	return exemplarQuerier{db.head}, nil
}

type exemplarQuerier struct{ h *Head }

func (q exemplarQuerier) Select(start, end int64, matchers ...[]*labels.Matcher) ([]exemplar.QueryResult, error) {
	want := map[uint64]bool{}
	for _, ms := range matchers {
		refs, err := index.Select(q.h.postings, ms...)
		if err != nil {
			return nil, err
		}
		for _, r := range refs {
			want[r] = true
		}
	}
	var out []exemplar.QueryResult
	for ref, es := range q.h.exemplars.inRange(want, start, end) {
		s := q.h.series.getByRef(ref)
		if s == nil {
			continue
		}
		sort.SliceStable(es, func(i, j int) bool { return es[i].Ts < es[j].Ts })
		out = append(out, exemplar.QueryResult{SeriesLabels: s.lset, Exemplars: es})
	}
	sort.Slice(out, func(i, j int) bool { return labels.Compare(out[i].SeriesLabels, out[j].SeriesLabels) < 0 })
	return out, nil
}

// Close checkpoints the head, so that the next start loads it without
// replaying the WAL, and closes the WAL.
func (db *DB) Close() error {
	db.closeMtx.Lock()
	defer db.closeMtx.Unlock()
	if db.closed {
		return nil
	}
	db.closed = true
	close(db.stop)
	<-db.done
	db.maintMtx.Lock()
	defer db.maintMtx.Unlock()
	err := db.head.checkpoint(db.logger)
	return errors.Join(err, db.wal.Close())
}

// CloseWithoutCheckpoint closes the WAL only, leaving replay to the next
// start (as after a crash); benchmarks of replay use it.
func (db *DB) CloseWithoutCheckpoint() error {
	db.closeMtx.Lock()
	defer db.closeMtx.Unlock()
	if db.closed {
		return nil
	}
	db.closed = true
	close(db.stop)
	<-db.done
	return db.wal.Close()
}
