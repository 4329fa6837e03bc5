package tsdb

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/storage"
	"github.com/graftlabs/graft/pkg/storage/tsdb/chunkenc"
)

// stSample is a sample with its start timestamp; hist is the count of a
// histogram sample (-1 for a float).
type stSample struct {
	t, st int64
	v     float64
	hist  float64
}

// dumpST reads every sample of every series with its start timestamp.
func dumpST(t testing.TB, q storage.Queryable) map[string][]stSample {
	t.Helper()
	qr, err := q.Querier(math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	defer qr.Close()
	ss := qr.Select(context.Background(), nil, labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+"))
	out := map[string][]stSample{}
	var it storage.Iterator
	for ss.Next() {
		it = ss.At().Iterator(it)
		st, ok := it.(storage.StartTimestampIterator)
		if !ok {
			t.Fatalf("%T does not implement StartTimestampIterator", it)
		}
		var got []stSample
		for vt := it.Next(); vt != storage.ValNone; vt = it.Next() {
			s := stSample{st: st.AtST(), hist: -1}
			if vt == storage.ValFloat {
				s.t, s.v = it.At()
			} else {
				var fh *histogram.FloatHistogram
				s.t, fh = it.AtFloatHistogram(nil)
				s.hist = fh.Count
			}
			got = append(got, s)
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
		out[ss.At().Labels().Get("kind")] = got
	}
	if err := ss.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// stModel appends samples with start timestamps and keeps what a query
// must return.
type stModel struct {
	want map[string][]stSample
}

func stLabels(kind string) labels.Labels {
	return labels.FromStrings("__name__", "st_test", "kind", kind)
}

// add appends one sample of kind at ts in its own commit.
func (m *stModel) add(t *testing.T, db *DB, kind string, ts int64) {
	t.Helper()
	st, s := stFor(kind, ts)
	var h *histogram.Histogram
	var fh *histogram.FloatHistogram
	switch kind {
	case "histogram":
		h = testHistogram(uint64(ts/15000) * 2)
		s.v, s.hist = 0, float64(h.Count)
	case "float_histogram":
		fh = testHistogram(uint64(ts/15000) * 2).ToFloat(nil)
		s.v, s.hist = 0, fh.Count
	}
	app := db.Appender(context.Background()).(storage.StartTimestampAppender)
	if _, err := app.AppendWithStartTimestamp(0, stLabels(kind), st, ts, s.v, h, fh); err != nil {
		t.Fatalf("%s at %d: %v", kind, ts, err)
	}
	if err := app.(storage.Appender).Commit(); err != nil {
		t.Fatal(err)
	}
	list := m.want[kind]
	i, _ := slices.BinarySearchFunc(list, ts, func(x stSample, t int64) int { return cmpInt(x.t, t) })
	m.want[kind] = slices.Insert(list, i, s)
}

// stFor is the start timestamp and sample that kind has at ts, as its
// sources would send them.
func stFor(kind string, ts int64) (int64, stSample) {
	s := stSample{t: ts, v: float64(ts) / 1000, hist: -1}
	switch kind {
	case "cumulative", "histogram": // resets every 50 samples
		s.st = ts - ts%(50*15000) - 500
	case "delta", "float_histogram":
		s.st = ts - 15000
	case "minus_1ms":
		s.st = ts - 1
	case "late_start": // unknown for the first 130 samples
		if ts >= 130*15000 {
			s.st = 1
		}
	case "late":
		s.st = ts - 250
	}
	return s.st, s
}

var stKinds = []string{"none", "cumulative", "delta", "minus_1ms", "late_start", "histogram", "float_histogram"}

// fill appends rounds [from, to) of every kind, 15s apart, and a late
// sample (with a start timestamp) between two of them every tenth round.
func (m *stModel) fill(t *testing.T, db *DB, from, to int) {
	t.Helper()
	for r := from; r < to; r++ {
		for _, k := range stKinds {
			m.add(t, db, k, int64(r)*15000)
		}
		if r%10 == 9 {
			m.add(t, db, "late", int64(r)*15000)
			m.add(t, db, "late", int64(r-5)*15000+7500)
		}
	}
}

func (m *stModel) check(t *testing.T, db *DB, when string) {
	t.Helper()
	got := dumpST(t, db)
	for _, k := range append(slices.Clone(stKinds), "late") {
		if err := sameST(got[k], m.want[k]); err != nil {
			t.Fatalf("%s: %s: %v", when, k, err)
		}
	}
}

func sameST(got, want []stSample) error {
	if len(got) != len(want) {
		return fmt.Errorf("%d samples, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			return fmt.Errorf("sample %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	return nil
}

// Start timestamps survive what samples survive: WAL replay, checkpoints,
// blocks cut from the head, compaction of overlapping blocks, snapshots;
// series without them are stored as they always were.
func TestStartTimestamps(t *testing.T) {
	dir := t.TempDir()
	opts := func(o *Options) { o.OutOfOrderTimeWindow = 3 * time.Hour; o.MaxBlockDuration = 3 * time.Hour }
	db := openBlocksTest(t, dir, opts)
	m := &stModel{want: map[string][]stSample{}}
	reopen := func(t *testing.T, clean bool) {
		t.Helper()
		var err error
		if clean {
			err = db.Close()
		} else {
			err = db.CloseWithoutCheckpoint()
		}
		if err != nil {
			t.Fatal(err)
		}
		db = openBlocksTest(t, dir, opts)
	}
	m.fill(t, db, 0, 300)
	m.check(t, db, "head")

	t.Run("start_timestamps/wal_replay", func(t *testing.T) {
		reopen(t, false)
		m.check(t, db, "after WAL replay")
	})
	t.Run("start_timestamps/checkpoint", func(t *testing.T) {
		if err := db.Checkpoint(); err != nil {
			t.Fatal(err)
		}
		m.fill(t, db, 300, 340)
		reopen(t, false)
		m.check(t, db, "after checkpoint and replay")
		reopen(t, true)
		m.check(t, db, "after a clean close")
	})
	t.Run("start_timestamps/blocks", func(t *testing.T) {
		if err := db.FlushHead(context.Background()); err != nil {
			t.Fatal(err)
		}
		m.check(t, db, "from blocks")
		checkBlockEncodings(t, db)
		// Late samples in a range already in blocks: a block of their
		// own, then compaction merges the overlapping blocks.
		m.add(t, db, "late", 100*15000+3000)
		m.add(t, db, "cumulative", 100*15000+3000)
		if err := db.FlushHead(context.Background()); err != nil {
			t.Fatal(err)
		}
		m.check(t, db, "after merging overlapping blocks")
		reopen(t, true)
		m.check(t, db, "blocks after restart")
	})
	t.Run("start_timestamps/snapshot", func(t *testing.T) {
		m.fill(t, db, 340, 350)
		m.check(t, db, "before the snapshot")
		snap := filepath.Join(t.TempDir(), "snap")
		if err := db.Snapshot(context.Background(), snap, true); err != nil {
			t.Fatal(err)
		}
		sdb := openBlocksTest(t, snap, opts)
		defer sdb.Close()
		m.check(t, sdb, "snapshot")
	})
	db.Close()
}

// checkBlockEncodings checks that only chunks of series with start
// timestamps carry a column.
func checkBlockEncodings(t *testing.T, db *DB) {
	t.Helper()
	seen := map[string]int{}
	for _, b := range db.Blocks() {
		set := b.selectSeries(context.Background(), math.MinInt64, math.MaxInt64, []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "__name__", "st_test")}, false)
		for set.Next() {
			s := set.At()
			kind := s.lset.Get("kind")
			for _, c := range s.chunks {
				if c.chunk.Enc.HasST() {
					seen[kind]++
				}
				if kind == "none" && c.chunk.Enc.HasST() {
					t.Fatalf("chunk of a series without start timestamps has a column: %s", c.chunk.Enc)
				}
			}
		}
		if err := set.Err(); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range stKinds[1:] {
		if seen[k] == 0 {
			t.Errorf("no chunk of %s carries start timestamps", k)
		}
	}
}

// The column costs a few bytes per chunk for the usual patterns.
func TestStartTimestampColumnSize(t *testing.T) {
	ts, vs := make([]int64, 120), make([]float64, 120)
	for i := range ts {
		ts[i], vs[i] = int64(i)*15000, float64(i)
	}
	plain, _ := floatChunk(ts, vs, make([]int64, 120))
	if plain.Enc != chunkenc.EncFloat {
		t.Fatalf("chunk without start timestamps coded as %s", plain.Enc)
	}
	for kind, st := range map[string]func(t int64) int64{
		"cumulative": func(int64) int64 { return 1_700_000_000_000 },
		"delta":      func(t int64) int64 { return t - 15000 },
		"minus_1ms":  func(t int64) int64 { return t - 1 },
	} {
		sts := make([]int64, len(ts))
		for i := range ts {
			sts[i] = st(ts[i])
		}
		c, err := floatChunk(ts, vs, sts)
		if err != nil {
			t.Fatal(err)
		}
		if extra := len(c.Data) - len(plain.Data); extra > 12 {
			t.Errorf("%s: %d bytes more for 120 samples", kind, extra)
		}
	}
}

// Queries read start timestamps of the open chunk while appends go on.
func TestStartTimestampsConcurrentReads(t *testing.T) {
	db := openTest(t, t.TempDir())
	defer db.Close()
	const rounds = 600
	errc := make(chan error, 1)
	go func() {
		defer close(errc)
		for r := range rounds {
			ts := int64(r) * 15000
			st, _ := stFor("delta", ts)
			app := db.Appender(context.Background())
			if _, err := app.(storage.StartTimestampAppender).AppendWithStartTimestamp(0, stLabels("delta"), st, ts, 1, nil, nil); err != nil {
				errc <- err
				return
			}
			if err := app.Commit(); err != nil {
				errc <- err
				return
			}
		}
	}()
	for finished := false; !finished; {
		select {
		case err := <-errc:
			if err != nil {
				t.Fatal(err)
			}
			finished = true
		default:
		}
		got := dumpST(t, db)["delta"]
		for _, s := range got {
			if want, _ := stFor("delta", s.t); s.st != want {
				t.Fatalf("start timestamp %d at %d, want %d", s.st, s.t, want)
			}
		}
		if finished && len(got) != rounds {
			t.Fatalf("%d samples, want %d", len(got), rounds)
		}
	}
}
