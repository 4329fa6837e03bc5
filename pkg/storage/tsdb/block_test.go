package tsdb

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/storage"
	"github.com/graftlabs/graft/pkg/storage/tsdb/wal"
)

func openBlocksTest(t testing.TB, dir string, mod func(*Options)) *DB {
	t.Helper()
	o := Options{Fsync: wal.FsyncSegment, MaintenanceInterval: time.Hour, BlockRange: time.Hour, MaxBlockDuration: time.Hour}
	if mod != nil {
		mod(&o)
	}
	db, err := Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func maintain(t testing.TB, db *DB) {
	t.Helper()
	if err := db.Maintain(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// The head is cut into blocks; queries read blocks and head as one; a
// restart serves the same samples from blocks, checkpoint and WAL.
func TestHeadCutIntoBlocks(t *testing.T) {
	dir := t.TempDir()
	db := openBlocksTest(t, dir, nil)
	fill(t, db, 20, 0, 1000) // 15s apart: 4h10m
	want := dump(t, db)
	maintain(t, db)
	blocks := db.Blocks()
	// The head keeps at least one and a half ranges: 3h to 4h10m.
	if len(blocks) != 3 {
		t.Fatalf("%d blocks after maintenance, want 3 ([0,1h), [1h,2h), [2h,3h)) ", len(blocks))
	}
	for i, b := range blocks {
		m := b.Meta()
		if m.MinTime != int64(i)*3600_000 || m.MaxTime != int64(i+1)*3600_000 || m.Compaction.Level != 1 || m.Stats.NumSeries != 20 {
			t.Fatalf("block %d: %+v", i, m)
		}
	}
	if mint := db.Head().MinTime(); mint != 3*3600_000 {
		t.Fatalf("head still starts at %d", mint)
	}
	if err := equalDumps(want, dump(t, db)); err != nil {
		t.Fatal("after cutting blocks:", err)
	}
	// Partial ranges: a query inside one block, across block and head.
	got := dump(t, &rangeQueryable{db, 3000_000, 8000_000})
	for k, s := range got {
		if len(s) != (8000-3000)/15+1 || s[0].t != 3000_000 {
			t.Fatalf("%s: %d samples from %d", k, len(s), s[0].t)
		}
	}
	// Out of bounds for the blocks' range now.
	app := db.Appender(context.Background())
	if _, err := app.Append(0, testSeries(1), 1000, 1); !errors.Is(err, storage.ErrOutOfBounds) {
		t.Fatalf("append into a block's range: %v", err)
	}
	app.Rollback()

	// A crash: blocks, checkpoint and WAL give back the same.
	fill(t, db, 20, 1000, 1100)
	want = dump(t, db)
	db.CloseWithoutCheckpoint()
	db = openBlocksTest(t, dir, nil)
	if err := equalDumps(want, dump(t, db)); err != nil {
		t.Fatal("after a crash:", err)
	}
	if st := db.Stats(); st.NumSamples != 20*1100 {
		t.Fatalf("stats after restart: %+v", st)
	}
	db.Close()
	db = openBlocksTest(t, dir, nil)
	defer db.Close()
	if err := equalDumps(want, dump(t, db)); err != nil {
		t.Fatal("after a clean restart:", err)
	}
}

type rangeQueryable struct {
	db         *DB
	mint, maxt int64
}

func (r *rangeQueryable) Querier(int64, int64) (storage.Querier, error) {
	return r.db.Querier(r.mint, r.maxt)
}

// Blocks are compacted into larger ones, level by level; the replaced
// blocks are deleted and the samples stay the same.
func TestBlocksCompacted(t *testing.T) {
	dir := t.TempDir()
	db := openBlocksTest(t, dir, func(o *Options) { o.MaxBlockDuration = 9 * time.Hour })
	for h := range 12 {
		fill(t, db, 10, h*240, (h+1)*240) // an hour at a time
		maintain(t, db)
	}
	want := dump(t, db)
	var levels []int
	for _, b := range db.Blocks() {
		levels = append(levels, b.Meta().Compaction.Level)
	}
	// Blocks [0,9h) level 3, [9h,10h) and [10h,11h) level 1 (the window
	// [9h,12h) has not ended): the head holds the rest.
	if len(levels) != 3 || levels[0] != 3 || levels[1] != 1 || levels[2] != 1 {
		t.Fatalf("block levels %v", levels)
	}
	if n := len(db.Blocks()[0].Meta().Compaction.Sources); n != 9 {
		t.Fatalf("level 3 block has %d sources", n)
	}
	entries, _ := os.ReadDir(dir)
	var dirs []string
	for _, e := range entries {
		if e.IsDir() && e.Name() != "wal" {
			dirs = append(dirs, e.Name())
		}
	}
	if len(dirs) != 3 {
		t.Fatalf("directories left: %v", dirs)
	}
	db.Close()
	db = openBlocksTest(t, dir, func(o *Options) { o.MaxBlockDuration = 9 * time.Hour })
	defer db.Close()
	if err := equalDumps(want, dump(t, db)); err != nil {
		t.Fatal(err)
	}
}

// Retention deletes whole blocks by time, and the oldest by size.
func TestRetention(t *testing.T) {
	dir := t.TempDir()
	db := openBlocksTest(t, dir, func(o *Options) { o.Retention = 3 * time.Hour; o.MaxBlockDuration = time.Hour })
	fill(t, db, 10, 0, 240*6) // 6h
	maintain(t, db)
	bs := db.Blocks()
	// Blocks up to 5h are cut; those ending 3h or more before the newest
	// sample (6h-15s) go.
	if len(bs) != 3 || bs[0].Meta().MinTime != 2*3600_000 {
		for _, b := range bs {
			t.Logf("%+v", b.Meta())
		}
		t.Fatalf("%d blocks after time retention", len(bs))
	}
	gen := db.ChangesSince(0).Generation
	db.Close()

	db = openBlocksTest(t, dir, func(o *Options) { o.Retention = 3 * time.Hour; o.MaxBlockDuration = time.Hour; o.RetentionSize = 1 })
	defer db.Close()
	maintain(t, db)
	if n := len(db.Blocks()); n != 0 {
		t.Fatalf("%d blocks left under a 1-byte size limit", n)
	}
	if st := db.Stats(); st.MinTime != 5*3600_000 {
		t.Fatalf("samples before 4h still served: %+v", st)
	}
	_ = gen
}

// Two processes (or two DBs) cannot open one directory.
func TestDirectoryLocked(t *testing.T) {
	dir := t.TempDir()
	db := openBlocksTest(t, dir, nil)
	if _, err := Open(dir, Options{}); err == nil || !strings.Contains(err.Error(), "lock") {
		t.Fatalf("second open: %v", err)
	}
	db.Close()
	db2, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("open after close: %v", err)
	}
	db2.Close()
}

// A damaged chunk is found by the query that reads it: the query fails
// naming the block, the block is set aside, and the others keep serving.
func TestCorruptChunkSetAside(t *testing.T) {
	dir := t.TempDir()
	db := openBlocksTest(t, dir, nil)
	fill(t, db, 5, 0, 1000)
	maintain(t, db)
	bs := db.Blocks()
	if len(bs) != 3 {
		t.Fatalf("%d blocks", len(bs))
	}
	bad := bs[0].Meta().ULID
	seg := filepath.Join(dir, bad, chunksDirname, "000001")
	f, err := os.OpenFile(seg, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{0xff, 0xff, 0xff}, 40); err != nil {
		t.Fatal(err)
	}
	f.Close()

	q, _ := db.Querier(math.MinInt64, math.MaxInt64)
	ss := q.Select(context.Background(), nil, labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+"))
	for ss.Next() {
	}
	if err := ss.Err(); err == nil || !strings.Contains(err.Error(), bad) {
		t.Fatalf("query over a damaged chunk: %v", err)
	}
	q.Close()
	waitFor(t, func() bool { return len(db.CorruptBlocks()) == 1 })
	if cb := db.CorruptBlocks()[0]; cb.ULID != bad || !strings.Contains(cb.Dir, corruptDirname) {
		t.Fatalf("corrupt block record %+v", cb)
	}
	got := dump(t, db) // the rest serves
	for k, s := range got {
		if len(s) != 1000-240 || s[0].t != 3600_000 {
			t.Fatalf("%s: %d samples from %d", k, len(s), s[0].t)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, corruptDirname, bad)); err != nil {
		t.Fatal(err)
	}
	db.Close()
}

// A block whose index is damaged is set aside when the DB opens.
func TestCorruptIndexSetAsideOnOpen(t *testing.T) {
	dir := t.TempDir()
	db := openBlocksTest(t, dir, nil)
	fill(t, db, 5, 0, 1000)
	maintain(t, db)
	bad := db.Blocks()[1].Meta().ULID
	db.Close()
	path := filepath.Join(dir, bad, indexFilename)
	b, _ := os.ReadFile(path)
	b[len(b)/2] ^= 0x55
	os.WriteFile(path, b, 0o644)

	db = openBlocksTest(t, dir, nil)
	defer db.Close()
	cbs := db.CorruptBlocks()
	if len(cbs) != 1 || cbs[0].ULID != bad || !strings.Contains(cbs[0].Err, "checksum") {
		t.Fatalf("corrupt blocks %+v", cbs)
	}
	if n := len(db.Blocks()); n != 2 {
		t.Fatalf("%d blocks served", n)
	}
	got := dump(t, db)
	for k, s := range got {
		if len(s) != 1000-240 || s[239].t != 239*15000 || s[240].t != 2*3600_000 {
			t.Fatalf("%s: %d samples", k, len(s))
		}
	}
}

// Leftovers of a crash during a compaction: a half-written block is
// removed, and blocks a finished compaction replaced are deleted.
func TestInterruptedCompactionCleanedUp(t *testing.T) {
	dir := t.TempDir()
	db := openBlocksTest(t, dir, nil)
	fill(t, db, 5, 0, 1000)
	maintain(t, db)
	want := dump(t, db)
	bs := db.Blocks()
	// Compact by hand as a crash would leave it: the new block is in place
	// but its parents were not deleted.
	in, err := blocksInput(bs)
	if err != nil {
		t.Fatal(err)
	}
	meta := BlockMeta{MinTime: 0, MaxTime: 3 * 3600_000, Compaction: BlockCompaction{Level: 2, Parents: []string{bs[0].meta.ULID, bs[1].meta.ULID, bs[2].meta.ULID}}}
	if _, err := writeBlock(context.Background(), dir, meta, in, &chunkNormalizer{maxSamples: 240}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	os.MkdirAll(filepath.Join(dir, newULID(time.Now())+tmpSuffix, "chunks"), 0o750)

	db = openBlocksTest(t, dir, nil)
	defer db.Close()
	if bs := db.Blocks(); len(bs) != 1 || bs[0].Meta().Compaction.Level != 2 {
		t.Fatalf("blocks after restart: %d", len(bs))
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), tmpSuffix) {
			t.Fatalf("%s left behind", e.Name())
		}
	}
	if err := equalDumps(want, dump(t, db)); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, f func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if f() {
			return
		}
	}
	t.Fatal("condition not met within 10s")
}

// The self-metrics are registered under the names the dashboards read,
// and a DB can be opened again on the same registry after closing.
func TestMetricsRegistered(t *testing.T) {
	reg := prometheus.NewRegistry()
	dir := t.TempDir()
	db := openBlocksTest(t, dir, func(o *Options) { o.Registerer = reg })
	fill(t, db, 3, 0, 1000)
	maintain(t, db)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		m := mf.GetMetric()[0]
		switch {
		case m.Counter != nil:
			got[mf.GetName()] = m.Counter.GetValue()
		case m.Gauge != nil:
			got[mf.GetName()] = m.Gauge.GetValue()
		case m.Histogram != nil:
			got[mf.GetName()] = float64(m.Histogram.GetSampleCount())
		}
	}
	for name, min := range map[string]float64{
		"graft_tsdb_compactions_total": 3, "graft_tsdb_compaction_duration_seconds": 3, "graft_tsdb_head_compactions_total": 3,
		"graft_tsdb_blocks_loaded": 3, "graft_tsdb_wal_storage_size_bytes": 1, "graft_tsdb_head_series": 3,
		"graft_tsdb_storage_blocks_bytes": 1, "graft_tsdb_compactions_failed_total": 0, "graft_tsdb_wal_corruptions_total": 0,
	} {
		if v, ok := got[name]; !ok || v < min {
			t.Errorf("%s = %v (present %v), want at least %v", name, v, ok, min)
		}
	}
	db.Close()
	db = openBlocksTest(t, dir, func(o *Options) { o.Registerer = reg })
	db.Close()
}
