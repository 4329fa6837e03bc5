package tsdb

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/graftlabs/graft/pkg/storage"
	"github.com/graftlabs/graft/pkg/storage/tsdb/wal"
)

func openTest(t testing.TB, dir string) *DB {
	t.Helper()
	db, err := Open(dir, Options{Fsync: wal.FsyncSegment, MaintenanceInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

type sample struct {
	t int64
	v float64
}

// dump reads every float sample of every series.
func dump(t testing.TB, q storage.Queryable, ms ...*labels.Matcher) map[string][]sample {
	t.Helper()
	qr, err := q.Querier(math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	defer qr.Close()
	if len(ms) == 0 {
		ms = []*labels.Matcher{labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+")}
	}
	ss := qr.Select(context.Background(), nil, ms...)
	out := map[string][]sample{}
	var it storage.Iterator
	for ss.Next() {
		s := ss.At()
		it = s.Iterator(it)
		var got []sample
		for vt := it.Next(); vt != storage.ValNone; vt = it.Next() {
			if vt == storage.ValFloat {
				ts, v := it.At()
				got = append(got, sample{ts, v})
			}
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
		out[s.Labels().String()] = got
	}
	if err := ss.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func testSeries(i int) labels.Labels {
	return labels.FromStrings("__name__", "m", "i", fmt.Sprint(i), "job", fmt.Sprint(i%3))
}

// fill appends n samples to each of k series, one commit per round.
func fill(t testing.TB, db *DB, k, from, to int) {
	t.Helper()
	for round := from; round < to; round++ {
		app := db.Appender(context.Background())
		for i := range k {
			v := float64(round*i) + 0.25
			if round%7 == 3 && i == 0 {
				v = math.Float64frombits(value.StaleNaN)
			}
			if _, err := app.Append(0, testSeries(i), int64(round)*15000, v); err != nil {
				t.Fatal(err)
			}
		}
		if err := app.Commit(); err != nil {
			t.Fatal(err)
		}
	}
}

func equalDumps(a, b map[string][]sample) error {
	if len(a) != len(b) {
		return fmt.Errorf("%d series vs %d", len(a), len(b))
	}
	for k, sa := range a {
		sb := b[k]
		if len(sa) != len(sb) {
			return fmt.Errorf("%s: %d samples vs %d", k, len(sa), len(sb))
		}
		for i := range sa {
			if sa[i].t != sb[i].t || math.Float64bits(sa[i].v) != math.Float64bits(sb[i].v) {
				return fmt.Errorf("%s sample %d: %v vs %v", k, i, sa[i], sb[i])
			}
		}
	}
	return nil
}

func TestRestartReplaysWAL(t *testing.T) {
	dir := t.TempDir()
	db := openTest(t, dir)
	fill(t, db, 20, 0, 300)
	want := dump(t, db)
	if len(want) != 20 || len(want["{__name__=\"m\", i=\"1\", job=\"1\"}"]) != 300 {
		t.Fatalf("before restart: %d series", len(want))
	}
	if err := db.CloseWithoutCheckpoint(); err != nil {
		t.Fatal(err)
	}
	db = openTest(t, dir)
	if err := equalDumps(want, dump(t, db)); err != nil {
		t.Fatal("after replay:", err)
	}
	// A checkpoint, more samples, a crash: both parts come back.
	if err := db.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	fill(t, db, 25, 300, 400)
	want = dump(t, db)
	db.CloseWithoutCheckpoint()
	segs, _ := wal.Segments(filepath.Join(dir, "wal"))
	if segs[0] == 0 {
		t.Errorf("checkpoint left segment 0: %v", segs)
	}
	db = openTest(t, dir)
	if err := equalDumps(want, dump(t, db)); err != nil {
		t.Fatal("after checkpoint and replay:", err)
	}
	// A clean close checkpoints everything.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openTest(t, dir)
	defer db.Close()
	if err := equalDumps(want, dump(t, db)); err != nil {
		t.Fatal("after clean close:", err)
	}
	if st := db.Stats(); st.NumSeries != 25 || st.NumSamples != 20*400+5*100 {
		t.Errorf("stats %+v", st)
	}
}

func TestTornWALTail(t *testing.T) {
	dir := t.TempDir()
	db := openTest(t, dir)
	fill(t, db, 5, 0, 100)
	want := dump(t, db)
	fill(t, db, 5, 100, 101) // the commit the crash tears
	db.CloseWithoutCheckpoint()
	segs, _ := wal.Segments(filepath.Join(dir, "wal"))
	path := wal.SegmentName(filepath.Join(dir, "wal"), segs[len(segs)-1])
	st, _ := os.Stat(path)
	os.Truncate(path, st.Size()-5)

	db = openTest(t, dir)
	if err := equalDumps(want, dump(t, db)); err != nil {
		t.Fatal("valid prefix after a torn tail:", err)
	}
	fill(t, db, 5, 101, 110)
	db.CloseWithoutCheckpoint()
	db = openTest(t, dir)
	defer db.Close()
	got := dump(t, db)
	if n := len(got["{__name__=\"m\", i=\"2\", job=\"2\"}"]); n != 109 {
		t.Fatalf("after repair and more appends: %d samples", n)
	}
}

func TestAppendRules(t *testing.T) {
	db := openTest(t, t.TempDir())
	defer db.Close()
	l := labels.FromStrings("__name__", "x")
	app := db.Appender(context.Background())
	ref, err := app.Append(0, l, 1000, 1)
	if err != nil {
		t.Fatal(err)
	}
	app.Commit()
	app = db.Appender(context.Background())
	if _, err := app.Append(ref, l, 500, 1); !errors.Is(err, storage.ErrOutOfOrderSample) {
		t.Errorf("older sample: %v", err)
	}
	if _, err := app.Append(ref, l, 1000, 2); !errors.Is(err, storage.ErrDuplicateSample) {
		t.Errorf("same time, other value: %v", err)
	}
	if _, err := app.Append(ref, l, 1000, 1); err != nil {
		t.Errorf("exact repeat: %v", err)
	}
	if _, err := app.Append(0, labels.EmptyLabels(), 1000, 1); !errors.Is(err, storage.ErrEmptyLabels) {
		t.Errorf("empty labels: %v", err)
	}
	app.Append(ref, l, 2000, 2)
	app.Rollback()
	if got := dump(t, db)["{__name__=\"x\"}"]; len(got) != 1 {
		t.Fatalf("rollback kept samples: %v", got)
	}
}

func testHistogram(count uint64) *histogram.Histogram {
	return &histogram.Histogram{
		Schema: 0, Count: count, Sum: float64(count) * 1.5, ZeroThreshold: 0.001,
		PositiveSpans:   []histogram.Span{{Offset: 0, Length: 2}},
		PositiveBuckets: []int64{int64(count / 2), 0},
	}
}

func TestHistogramsAndExemplarsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	db := openTest(t, dir)
	l := labels.FromStrings("__name__", "latency", "job", "x")
	app := db.Appender(context.Background())
	ref, err := app.AppendHistogram(0, l, 1000, testHistogram(4), nil)
	if err != nil {
		t.Fatal(err)
	}
	fh := testHistogram(8).ToFloat(nil)
	app.AppendHistogram(ref, l, 2000, nil, fh)
	app.Append(ref, l, 3000, 1)
	if _, err := app.AppendHistogram(ref, l, 4000, nil, nil); !errors.Is(err, storage.ErrInvalidHistogram) {
		t.Errorf("empty histogram: %v", err)
	}
	ex := exemplar.Exemplar{Labels: labels.FromStrings("trace_id", "abc"), Value: 1, Ts: 1000, HasTs: true}
	if _, err := app.AppendExemplar(ref, l, ex); err != nil {
		t.Fatal(err)
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	check := func(db *DB) {
		q, _ := db.Querier(0, 10000)
		ss := q.Select(context.Background(), nil, labels.MustNewMatcher(labels.MatchEqual, "job", "x"))
		if !ss.Next() {
			t.Fatal("series not found")
		}
		it := ss.At().Iterator(nil)
		if vt := it.Next(); vt != storage.ValHistogram {
			t.Fatalf("first sample %v", vt)
		}
		if ts, h := it.AtHistogram(nil); ts != 1000 || !h.Equals(testHistogram(4)) {
			t.Errorf("histogram %d %v", ts, h)
		}
		if vt := it.Next(); vt != storage.ValFloatHistogram {
			t.Fatalf("second sample %v", vt)
		}
		if _, got := it.AtFloatHistogram(nil); !got.Equals(fh) {
			t.Errorf("float histogram %v", got)
		}
		if vt := it.Next(); vt != storage.ValFloat {
			t.Fatalf("third sample %v", vt)
		}
		eq, _ := db.ExemplarQuerier(context.Background())
		res, err := eq.Select(0, 5000, []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "job", "x")})
		if err != nil || len(res) != 1 || len(res[0].Exemplars) != 1 || !res[0].Exemplars[0].Equals(ex) {
			t.Fatalf("exemplars: %+v %v", res, err)
		}
	}
	check(db)
	db.CloseWithoutCheckpoint()
	db = openTest(t, dir)
	check(db)
	db.Close()
	db = openTest(t, dir)
	check(db)
	db.Close()
}

func TestConcurrentAppendersAndQueries(t *testing.T) {
	db := openTest(t, t.TempDir())
	defer db.Close()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			refs := make([]storage.SeriesRef, 50)
			for round := range 200 {
				app := db.Appender(context.Background())
				for i := range refs {
					var err error
					refs[i], err = app.Append(refs[i], testSeries(g*1000+i), int64(round)*1000, float64(round))
					if err != nil {
						t.Error(err)
						return
					}
				}
				if err := app.Commit(); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 20 {
			dump(t, db, labels.MustNewMatcher(labels.MatchEqual, "job", "1"))
		}
	}()
	wg.Wait()
	got := dump(t, db)
	if len(got) != 200 {
		t.Fatalf("%d series", len(got))
	}
	for k, s := range got {
		if len(s) != 200 {
			t.Fatalf("%s: %d samples", k, len(s))
		}
	}
}

func TestQueryBoundsAndTruncate(t *testing.T) {
	db := openTest(t, t.TempDir())
	defer db.Close()
	fill(t, db, 3, 0, 1000)
	q, _ := db.Querier(15000*100, 15000*200)
	ss := q.Select(context.Background(), nil, labels.MustNewMatcher(labels.MatchEqual, "i", "1"))
	ss.Next()
	it := ss.At().Iterator(nil)
	n := 0
	for it.Next() != storage.ValNone {
		if ts := it.AtT(); ts < 15000*100 || ts > 15000*200 {
			t.Fatalf("sample at %d outside the range", ts)
		}
		n++
	}
	if n != 101 {
		t.Fatalf("%d samples in range, want 101", n)
	}
	it = ss.At().Iterator(it)
	if it.SeekTo(15000*150) != storage.ValFloat || it.AtT() != 15000*150 {
		t.Fatalf("seek: %d", it.AtT())
	}
	gen := db.ChangesSince(0).Generation
	db.Truncate(15000 * 500)
	if st := db.Stats(); st.MinTime < 15000*400 {
		t.Fatalf("min time after truncate %d", st.MinTime)
	}
	ch := db.ChangesSince(gen)
	if !ch.Complete || len(ch.Changes) != 1 || ch.Changes[0].MaxT != 15000*500-1 {
		t.Fatalf("change feed after truncate: %+v", ch)
	}
}

func TestExemplarRingIsBounded(t *testing.T) {
	r := newExemplarRing(3)
	for i := int64(1); i <= 5; i++ {
		r.add(1, exemplar.Exemplar{Value: float64(i), Ts: i, HasTs: true})
	}
	got := r.inRange(map[uint64]bool{1: true}, 0, 10)[1]
	if len(got) != 3 || got[0].Ts != 3 || got[2].Ts != 5 {
		t.Fatalf("ring kept %+v, want the newest three", got)
	}
}

func TestChangeFeedRingReportsGaps(t *testing.T) {
	f := newChangeFeed(3, 0)
	for i := range 5 {
		f.deleted(int64(i), int64(i))
	}
	if c := f.since(3); !c.Complete || len(c.Changes) != 2 {
		t.Fatalf("since 3: %+v", c)
	}
	if c := f.since(1); c.Complete {
		t.Fatalf("since 1 claims completeness after eviction: %+v", c)
	}
}

func TestChangeFeedSinceAcrossWrap(t *testing.T) {
	f := newChangeFeed(4, 0)
	for i := range 10 {
		f.deleted(int64(i), int64(i))
	}
	for gen := uint64(6); gen <= 10; gen++ {
		c := f.since(gen)
		if !c.Complete || len(c.Changes) != int(10-gen) {
			t.Fatalf("since %d: %+v", gen, c)
		}
		for i, ch := range c.Changes {
			if ch.Generation != gen+1+uint64(i) {
				t.Fatalf("since %d: change %d is generation %d", gen, i, ch.Generation)
			}
		}
	}
}
