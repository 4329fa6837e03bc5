package tsdb

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/storage"
)

// concurrentValue is the sample of series i at round r: reads check it.
func concurrentValue(i, r int) float64 { return float64(i)*1e6 + float64(r) + 0.5 }

// The querier says ConcurrentReads: prove it under -race. A querier's
// series (from blocks and the head, the head's open chunks as views) are
// read by several goroutines at once, each series through several
// iterators and its labels asked for concurrently, while appenders add
// samples to those very series and maintenance cuts, compacts and deletes
// blocks (a block must stay mapped while a querier holds it).
func TestQuerierConcurrentReads(t *testing.T) {
	db := openBlocksTest(t, t.TempDir(), func(o *Options) { o.MaxBlockDuration = 3 * time.Hour })
	defer db.Close()
	const k = 20
	var round atomic.Int64 // rounds committed
	appendRound := func(r int) {
		app := db.Appender(context.Background())
		for i := range k {
			if _, err := app.Append(0, testSeries(i), int64(r)*15000, concurrentValue(i, r)); err != nil {
				t.Error(err)
			}
		}
		if err := app.Commit(); err != nil {
			t.Error(err)
		}
		round.Store(int64(r + 1))
	}
	for r := range 1200 { // 5h: blocks to cut
		appendRound(r)
	}
	maintain(t, db)
	if len(db.Blocks()) == 0 {
		t.Fatal("no blocks cut")
	}

	stop := make(chan struct{})
	var bg sync.WaitGroup
	bg.Add(2)
	go func() { // appends on, into the open chunks being read
		defer bg.Done()
		for r := 1200; ; r++ {
			select {
			case <-stop:
				return
			default:
			}
			appendRound(r)
		}
	}()
	go func() { // blocks cut, compacted and deleted under the readers
		defer bg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if err := db.Maintain(context.Background()); err != nil {
				t.Error(err)
			}
		}
	}()
	for range 15 {
		readConcurrently(t, db, k, int(round.Load()))
	}
	close(stop)
	bg.Wait()
}

// readConcurrently opens a querier once rounds are committed, and reads
// every series from four goroutines at once.
func readConcurrently(t *testing.T, db *DB, k, rounds int) {
	q, err := db.Querier(0, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if c, ok := q.(storage.ConcurrentQuerier); !ok || !c.ConcurrentReads() {
		t.Fatal("the querier does not declare concurrent reads")
	}
	ss := q.Select(context.Background(), nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", "m"))
	var series []storage.Series
	for ss.Next() {
		series = append(series, ss.At())
	}
	if ss.Err() != nil || len(series) != k {
		t.Fatalf("%d series: %v", len(series), ss.Err())
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var it storage.Iterator
			for j := range series {
				s := series[(j+g*5)%len(series)]
				it = s.Iterator(it)
				if err := checkSeries(s.Labels(), it, rounds); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// checkSeries wants every round from 0 on, at least the first rounds.
func checkSeries(lset labels.Labels, it storage.Iterator, rounds int) error {
	var i int
	if _, err := fmt.Sscan(lset.Get("i"), &i); err != nil {
		return fmt.Errorf("labels %s: %w", lset, err)
	}
	r := 0
	for vt := it.Next(); vt != storage.ValNone; vt = it.Next() {
		ts, v := it.At()
		if ts != int64(r)*15000 || v != concurrentValue(i, r) {
			return fmt.Errorf("%s sample %d: %d %v", lset, r, ts, v)
		}
		r++
	}
	if it.Err() != nil || r < rounds {
		return fmt.Errorf("%s: %d rounds read, %d committed before the querier: %v", lset, r, rounds, it.Err())
	}
	return nil
}
