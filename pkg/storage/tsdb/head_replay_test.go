package tsdb

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/storage"
)

// Replay hands each shard its samples in batches of one kind (floats or
// histograms, in order or late). Series whose samples switch kinds from one
// commit to the next, with batches filling up in between, must come back
// exactly as they were.
func TestReplayKeepsOrderAcrossKinds(t *testing.T) {
	dir := t.TempDir()
	opts := func(o *Options) { o.OutOfOrderTimeWindow = time.Hour }
	db := openBlocksTest(t, dir, opts)
	var series []labels.Labels
	for i := range 7 {
		series = append(series, labels.FromStrings("__name__", "mixed", "i", fmt.Sprint(i)))
	}
	ts := int64(1_000_000)
	commit := func(add func(app storage.Appender, l labels.Labels) error) {
		t.Helper()
		app := db.Appender(context.Background())
		for _, l := range series {
			if err := add(app, l); err != nil {
				t.Fatal(err)
			}
		}
		if err := app.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	floats := func(n int) {
		for range n {
			ts += 1000
			commit(func(app storage.Appender, l labels.Labels) error {
				_, err := app.Append(0, l, ts, float64(ts/1000))
				return err
			})
		}
	}
	floats(700) // more than a batch per shard
	for range 5 {
		ts += 1000
		commit(func(app storage.Appender, l labels.Labels) error {
			_, err := app.AppendHistogram(0, l, ts, testHistogram(2*uint64(ts/1000)), nil)
			return err
		})
	}
	floats(3)
	late := ts - 1500 // between the last two floats
	commit(func(app storage.Appender, l labels.Labels) error {
		_, err := app.Append(0, l, late, -1)
		return err
	})
	floats(2)
	ts += 1000
	commit(func(app storage.Appender, l labels.Labels) error {
		fh := testHistogram(2 * uint64(ts/1000)).ToFloat(nil)
		_, err := app.AppendHistogram(0, l, ts, nil, fh)
		return err
	})
	floats(400)

	want := dumpKinds(t, db)
	if n := len(want[series[0].String()]); n != 700+5+3+1+2+1+400 {
		t.Fatalf("before the crash: %d samples", n)
	}
	if err := db.CloseWithoutCheckpoint(); err != nil {
		t.Fatal(err)
	}
	db = openBlocksTest(t, dir, opts)
	defer db.Close()
	got := dumpKinds(t, db)
	for _, l := range series {
		k := l.String()
		if !slices.Equal(want[k], got[k]) {
			t.Errorf("%s after replay: %d samples, want %d; first difference at %d", k, len(got[k]), len(want[k]), firstDiff(want[k], got[k]))
		}
	}
}

// dumpKinds reads every sample of every series as text naming its kind.
func dumpKinds(t *testing.T, db *DB) map[string][]string {
	t.Helper()
	q, err := db.Querier(math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	ss := q.Select(context.Background(), nil, labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+"))
	out := map[string][]string{}
	for ss.Next() {
		it := ss.At().Iterator(nil)
		var got []string
		for vt := it.Next(); vt != storage.ValNone; vt = it.Next() {
			switch vt {
			case storage.ValFloat:
				ts, v := it.At()
				got = append(got, fmt.Sprintf("%d float %g", ts, v))
			case storage.ValHistogram:
				ts, h := it.AtHistogram(nil)
				got = append(got, fmt.Sprintf("%d histogram %d", ts, h.Count))
			case storage.ValFloatHistogram:
				ts, h := it.AtFloatHistogram(nil)
				got = append(got, fmt.Sprintf("%d float histogram %g", ts, h.Count))
			}
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
		out[ss.At().Labels().String()] = got
	}
	if err := ss.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
