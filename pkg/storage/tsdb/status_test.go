package tsdb

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/storage"
)

func TestCardinalityStats(t *testing.T) {
	db := openBlocksTest(t, t.TempDir(), nil)
	defer db.Close()
	app := db.Appender(context.Background())
	for i := range 30 {
		name := []string{"http_requests_total", "up", "node_cpu_seconds_total"}[i%3]
		l := labels.FromStrings("__name__", name, "instance", string(rune('a'+i%10)), "job", "j")
		if i%3 == 0 {
			l = labels.FromStrings("__name__", name, "instance", string(rune('a'+i%10)), "job", "j", "code", string(rune('0'+i%5)))
		}
		app.Append(0, l, 1000, 1)
	}
	app.Commit()
	st, err := db.CardinalityStats(context.Background(), 2)
	if err != nil {
		t.Fatal(err)
	}
	if st.Head.NumSeries != 30 || st.Head.ChunkCount != 30 || st.Head.MinTime != 1000 || st.Head.MaxTime != 1000 {
		t.Fatalf("head stats %+v", st.Head)
	}
	// 3 metric names + 10 instances + 1 job + 5 codes.
	if st.Head.NumLabelPairs != 19 {
		t.Fatalf("label pairs %d", st.Head.NumLabelPairs)
	}
	if len(st.SeriesCountByMetricName) != 2 || st.SeriesCountByMetricName[0].Value != 10 || st.SeriesCountByMetricName[0].Name != "http_requests_total" {
		t.Fatalf("by metric %+v", st.SeriesCountByMetricName)
	}
	if got := st.LabelValueCountByLabelName; len(got) != 2 || got[0].Name != "instance" || got[0].Value != 10 || got[1].Name != "code" || got[1].Value != 5 {
		t.Fatalf("values by name %+v", got)
	}
	if got := st.SeriesCountByLabelValuePair; got[0].Name != "job=j" || got[0].Value != 30 {
		t.Fatalf("by pair %+v", got)
	}
	if got := st.MemoryInBytesByLabelName; got[0].Name != "__name__" || got[0].Value <= got[1].Value {
		t.Fatalf("bytes by name %+v", got)
	}
}

// A snapshot opens as a database of its own with every sample.
func TestSnapshot(t *testing.T) {
	db := openBlocksTest(t, t.TempDir(), func(o *Options) { o.OutOfOrderTimeWindow = 3 * time.Hour })
	defer db.Close()
	fill(t, db, 5, 0, 1000)
	maintain(t, db)
	l := labels.FromStrings("__name__", "late")
	appendOne(t, db, l, 4*hour, 1)
	if err := appendOne(t, db, l, 2*hour, 2); err != nil { // late, before the head
		t.Fatal(err)
	}
	want := dump(t, db)
	snap := t.TempDir()
	if err := db.Snapshot(context.Background(), snap, true); err != nil {
		t.Fatal(err)
	}
	if err := db.Snapshot(context.Background(), snap, true); err == nil {
		t.Fatal("snapshot into a non-empty directory")
	}
	fill(t, db, 5, 1000, 1100) // not in the snapshot
	s := openBlocksTest(t, snap, nil)
	defer s.Close()
	if err := equalDumps(want, dump(t, s)); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Blocks()); n != 4 {
		t.Fatalf("%d blocks in the snapshot", n)
	}
	_ = math.MaxInt64
}

// Repeated selects are served from the head's cache of sorted series until
// a series is created or removed.
func TestSortedSeriesCacheInvalidated(t *testing.T) {
	db := openBlocksTest(t, t.TempDir(), nil)
	defer db.Close()
	m := labels.MustNewMatcher(labels.MatchEqual, "job", "1")
	fill(t, db, 6, 0, 10) // series 1 and 4 have job="1"
	for range 2 {
		if n := len(dump(t, db, m)); n != 2 {
			t.Fatalf("%d series", n)
		}
	}
	if len(db.head.sorted.entries) != 1 {
		t.Fatalf("%d cached selects", len(db.head.sorted.entries))
	}
	fill(t, db, 8, 10, 11) // series 7: job="1"
	if got := dump(t, db, m); len(got) != 3 {
		t.Fatalf("after a new series: %d series", len(got))
	}
	db.Truncate(10 * 15000) // series 6 and 7 stay; 0..5 only had older samples... all have round 10
	fill(t, db, 2, 11, 12)
	db.Truncate(11 * 15000) // series 2..7 had nothing at 11: removed
	if got := dump(t, db, m); len(got) != 1 {
		t.Fatalf("after removing series: %d series: %v", len(got), got)
	}
}

// Native histograms are returned intact from blocks, and exemplars stay
// queryable after their series left the head for blocks, across restarts.
func TestHistogramsAndExemplarsThroughBlocks(t *testing.T) {
	dir := t.TempDir()
	db := openBlocksTest(t, dir, nil)
	l := labels.FromStrings("__name__", "latency", "job", "x")
	ex := exemplar.Exemplar{Labels: labels.FromStrings("trace_id", "abc"), Value: 1, Ts: 1000, HasTs: true}
	app := db.Appender(context.Background())
	ref, _ := app.AppendHistogram(0, l, 1000, testHistogram(4), nil)
	app.AppendHistogram(ref, l, 2000, nil, testHistogram(8).ToFloat(nil))
	if _, err := app.AppendExemplar(ref, l, ex); err != nil {
		t.Fatal(err)
	}
	app.Commit()
	fill(t, db, 2, 0, 1000) // other series go on for hours: blocks are cut
	maintain(t, db)
	if db.head.series.getByHash(l.Hash(), l) != nil {
		t.Fatal("the histogram series is still in the head")
	}
	check := func(stage string) {
		t.Helper()
		q, _ := db.Querier(0, 10_000)
		ss := q.Select(context.Background(), nil, labels.MustNewMatcher(labels.MatchEqual, "job", "x"))
		if !ss.Next() {
			t.Fatalf("%s: series not found", stage)
		}
		it := ss.At().Iterator(nil)
		if vt := it.Next(); vt != storage.ValHistogram {
			t.Fatalf("%s: first sample %v", stage, vt)
		}
		if _, h := it.AtHistogram(nil); h.Count != 4 || h.Sum != 6 {
			t.Fatalf("%s: histogram %v", stage, h)
		}
		if vt := it.Next(); vt != storage.ValFloatHistogram {
			t.Fatalf("%s: second sample %v", stage, vt)
		}
		q.Close()
		eq, _ := db.ExemplarQuerier(context.Background())
		res, err := eq.Select(0, 5000, []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "job", "x")})
		if err != nil || len(res) != 1 || !labels.Equal(res[0].SeriesLabels, l) || len(res[0].Exemplars) != 1 || !res[0].Exemplars[0].Equals(ex) {
			t.Fatalf("%s: exemplars %+v %v", stage, res, err)
		}
	}
	check("blocks")
	db.Close()
	db = openBlocksTest(t, dir, nil)
	defer db.Close()
	check("after restart")
}
