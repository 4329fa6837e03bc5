package tsdb

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/storage"
)

const hour = int64(3600_000)

func appendOne(t *testing.T, db *DB, l labels.Labels, ts int64, v float64) error {
	t.Helper()
	app := db.Appender(context.Background())
	if _, err := app.Append(0, l, ts, v); err != nil {
		app.Rollback()
		return err
	}
	return app.Commit()
}

// Late samples inside the out-of-order window are stored and merged into
// queries, through restarts, blocks and compaction; older ones are refused.
func TestOutOfOrderWindow(t *testing.T) {
	dir := t.TempDir()
	opts := func(o *Options) { o.OutOfOrderTimeWindow = 3 * time.Hour; o.MaxBlockDuration = 3 * time.Hour }
	db := openBlocksTest(t, dir, opts)
	l := labels.FromStrings("__name__", "late", "job", "x")
	want := map[int64]float64{}
	add := func(ts int64, v float64) {
		t.Helper()
		if err := appendOne(t, db, l, ts, v); err != nil {
			t.Fatalf("append at %d: %v", ts, err)
		}
		want[ts] = v
	}
	// In order every minute up to 5h.
	for ts := int64(0); ts <= 5*hour; ts += 60_000 {
		add(ts, float64(ts/60_000))
	}
	// Late: inside the window, between existing samples, in several calls.
	for i := int64(0); i < 50; i++ {
		add(4*hour+i*60_000+30_000, -float64(i))
	}
	if err := appendOne(t, db, l, hour, 7); !errors.Is(err, storage.ErrOutOfOrderSample) && !errors.Is(err, storage.ErrOutOfBounds) {
		t.Fatalf("sample 4h late, window 3h: %v", err)
	}
	if err := appendOne(t, db, l, 4*hour+30_000, 99); !errors.Is(err, storage.ErrDuplicateSample) {
		t.Fatalf("late sample at a late sample's time, other value: %v", err)
	}
	if err := appendOne(t, db, l, 4*hour+30_000, want[4*hour+30_000]); err != nil {
		t.Fatalf("exact repeat of a late sample: %v", err)
	}
	// At an in-order sample's time: the stored sample wins.
	if err := appendOne(t, db, l, 4*hour+60_000, 1234); err != nil {
		t.Fatal(err)
	}
	check := func(stage string) {
		t.Helper()
		got := dump(t, db)[l.String()]
		if len(got) != len(want) {
			t.Fatalf("%s: %d samples, want %d", stage, len(got), len(want))
		}
		for i, s := range got {
			if i > 0 && s.t <= got[i-1].t {
				t.Fatalf("%s: samples out of order at %d", stage, i)
			}
			if w, ok := want[s.t]; !ok || w != s.v {
				t.Fatalf("%s: sample %d at %d is %v, want %v", stage, i, s.t, s.v, w)
			}
		}
	}
	check("head")
	db.CloseWithoutCheckpoint()
	db = openBlocksTest(t, dir, opts)
	check("after WAL replay")
	db.Close()
	db = openBlocksTest(t, dir, opts)
	check("after checkpoint")
	maintain(t, db) // blocks up to 3h; the late samples at 4h stay in the head
	check("after cutting blocks")

	// Late samples for ranges already in blocks: their own block, then
	// merged by compaction with the overlapping one.
	for i := int64(0); i < 10; i++ {
		add(2*hour+i*60_000+15_000, 1000+float64(i))
	}
	add(6*hour, 1)
	check("late samples for a block's range")
	maintain(t, db)
	check("after compaction")
	for _, b := range db.Blocks() {
		for _, o := range db.Blocks() {
			if b != o && b.overlaps(o.meta.MinTime, o.meta.MaxTime-1) {
				t.Fatalf("blocks %+v and %+v still overlap", b.meta, o.meta)
			}
		}
	}
	db.CloseWithoutCheckpoint()
	db = openBlocksTest(t, dir, opts)
	defer db.Close()
	check("after restart")
	if db.head.oooAppended.Load() == 0 && len(db.Blocks()) == 0 {
		t.Fatal("no late samples anywhere")
	}
}

// Without a window, late samples are refused as before.
func TestOutOfOrderRefusedWithoutWindow(t *testing.T) {
	db := openBlocksTest(t, t.TempDir(), nil)
	defer db.Close()
	l := labels.FromStrings("__name__", "x")
	if err := appendOne(t, db, l, 10_000, 1); err != nil {
		t.Fatal(err)
	}
	if err := appendOne(t, db, l, 5_000, 1); !errors.Is(err, storage.ErrOutOfOrderSample) {
		t.Fatalf("late sample: %v", err)
	}
	if n := len(dump(t, db)[l.String()]); n != 1 {
		t.Fatalf("%d samples", n)
	}
	_ = math.MaxInt64
}

// A chunk is sealed as soon as it is full; the newest sample is still
// found there for the duplicate checks.
func TestDuplicateAfterFullChunk(t *testing.T) {
	db := openBlocksTest(t, t.TempDir(), nil)
	defer db.Close()
	l := labels.FromStrings("__name__", "x")
	for i := range samplesPerChunk {
		if err := appendOne(t, db, l, int64(i)*1000, float64(i)); err != nil {
			t.Fatal(err)
		}
	}
	last := int64(samplesPerChunk-1) * 1000
	if err := appendOne(t, db, l, last, float64(samplesPerChunk-1)); err != nil {
		t.Fatalf("exact repeat of the newest sample: %v", err)
	}
	if err := appendOne(t, db, l, last, 7); !errors.Is(err, storage.ErrDuplicateSample) {
		t.Fatalf("other value at the newest time: %v", err)
	}
	if n := len(dump(t, db)[l.String()]); n != samplesPerChunk {
		t.Fatalf("%d samples", n)
	}
}

// Late native histograms are kept like late floats, through the WAL and
// the checkpoint.
func TestOutOfOrderHistograms(t *testing.T) {
	dir := t.TempDir()
	opts := func(o *Options) { o.OutOfOrderTimeWindow = time.Hour }
	db := openBlocksTest(t, dir, opts)
	l := labels.FromStrings("__name__", "latency")
	for _, ts := range []int64{10_000, 20_000, 5_000, 15_000, 20_000} {
		app := db.Appender(context.Background())
		if _, err := app.AppendHistogram(0, l, ts, testHistogram(uint64(ts/500)), nil); err != nil {
			t.Fatalf("histogram at %d: %v", ts, err)
		}
		if err := app.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	app := db.Appender(context.Background())
	if _, err := app.AppendHistogram(0, l, 5_000, testHistogram(6), nil); !errors.Is(err, storage.ErrDuplicateSample) {
		t.Fatalf("other histogram at a late one's time: %v", err)
	}
	app.Rollback()
	check := func(stage string) {
		t.Helper()
		q, _ := db.Querier(0, 100_000)
		defer q.Close()
		ss := q.Select(context.Background(), nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", "latency"))
		if !ss.Next() {
			t.Fatalf("%s: no series", stage)
		}
		it := ss.At().Iterator(nil)
		var got []int64
		for vt := it.Next(); vt != storage.ValNone; vt = it.Next() {
			ts, h := it.AtFloatHistogram(nil)
			if h.Count != float64(ts/500) {
				t.Fatalf("%s: histogram at %d has count %v", stage, ts, h.Count)
			}
			got = append(got, ts)
		}
		if len(got) != 4 || got[0] != 5_000 || got[1] != 10_000 || got[2] != 15_000 || got[3] != 20_000 {
			t.Fatalf("%s: samples at %v", stage, got)
		}
	}
	check("head")
	db.CloseWithoutCheckpoint()
	db = openBlocksTest(t, dir, opts)
	check("after WAL replay")
	db.Close()
	db = openBlocksTest(t, dir, opts)
	defer db.Close()
	check("after checkpoint")
	if err := db.FlushHead(context.Background()); err != nil {
		t.Fatal(err)
	}
	check("from blocks")
}
