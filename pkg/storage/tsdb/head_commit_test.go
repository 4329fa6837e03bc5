package tsdb

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/graftlabs/graft/pkg/storage"
)

// Commits that share series apply concurrently; only locking their series
// is ordered. A replay of the WAL must rebuild exactly what they built,
// with late samples, new series created by several appenders at once and
// checkpoints taken meanwhile. Each commit sleeps a little between its WAL
// write and its apply, so that commits interleave there.
func TestConcurrentCommitsReplayExactly(t *testing.T) {
	for _, window := range []time.Duration{0, time.Hour} {
		t.Run(fmt.Sprintf("ooo_window=%s", window), func(t *testing.T) {
			dir := t.TempDir()
			opts := func(o *Options) { o.OutOfOrderTimeWindow = window }
			db := openBlocksTest(t, dir, opts)
			db.head.beforeApply = func() { time.Sleep(time.Duration(rand.IntN(50)) * time.Microsecond) }
			var wg sync.WaitGroup
			for g := range 6 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					commitRandomBatches(t, db, rand.New(rand.NewPCG(uint64(g), 7)), g == 0)
				}()
			}
			wg.Wait()
			live := dump(t, db)
			if len(live) == 0 {
				t.Fatal("nothing committed")
			}
			replayRebuilds(t, db, dir, opts, live)
		})
	}
}

// commitRandomBatches commits batches of samples to a pool of series shared
// with the other goroutines, at jittered times so that some are late or
// duplicates; with checkpoint, it checkpoints every 50 commits.
func commitRandomBatches(t *testing.T, db *DB, r *rand.Rand, checkpoint bool) {
	for round := range 200 {
		app := db.Appender(context.Background())
		for range 8 {
			ts := int64(round)*1000 + r.Int64N(6000) - 3000
			_, err := app.Append(0, testSeries(r.IntN(12)), ts, float64(r.IntN(1000)))
			if err != nil && !errors.Is(err, storage.ErrOutOfOrderSample) && !errors.Is(err, storage.ErrDuplicateSample) && !errors.Is(err, storage.ErrOutOfBounds) {
				t.Error(err)
				return
			}
		}
		if err := app.Commit(); err != nil {
			t.Error(err)
			return
		}
		if checkpoint && round%50 == 49 {
			if err := db.Checkpoint(); err != nil {
				t.Error(err)
				return
			}
		}
	}
}

// A commit that shares a series with one logged before it waits for that
// one to apply: were it applied first, the earlier commit's older sample
// would be dropped live yet kept by a replay.
func TestCommitSharingASeriesWaitsForTheEarlierOne(t *testing.T) {
	dir := t.TempDir()
	db := openBlocksTest(t, dir, nil)
	ctx := context.Background()
	s := testSeries(1)
	first, second := db.Appender(ctx), db.Appender(ctx)
	if _, err := first.Append(0, s, 10, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := second.Append(0, s, 20, 2); err != nil {
		t.Fatal(err)
	}
	// The first commit pauses between its WAL write and its apply, giving
	// the second up to 100ms to overtake it.
	inPause, secondDone := make(chan struct{}), make(chan struct{})
	var paused atomic.Bool
	db.head.beforeApply = func() {
		if paused.CompareAndSwap(false, true) {
			close(inPause)
			select {
			case <-secondDone:
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	firstErr := make(chan error)
	go func() { firstErr <- first.Commit() }()
	<-inPause
	if err := second.Commit(); err != nil {
		t.Fatal(err)
	}
	close(secondDone)
	if err := <-firstErr; err != nil {
		t.Fatal(err)
	}
	live := dump(t, db)
	if got := live[s.String()]; len(got) != 2 {
		t.Fatalf("live samples %v, want both", got)
	}
	replayRebuilds(t, db, dir, nil, live)
}

// replayRebuilds closes db as a crash would (no checkpoint), reopens dir
// with opts and checks that the WAL replay rebuilt live.
func replayRebuilds(t *testing.T, db *DB, dir string, opts func(*Options), live map[string][]sample) {
	t.Helper()
	if err := db.CloseWithoutCheckpoint(); err != nil {
		t.Fatal(err)
	}
	db = openBlocksTest(t, dir, opts)
	defer db.Close()
	if err := equalDumps(live, dump(t, db)); err != nil {
		t.Fatalf("replay differs from what the commits built: %v", err)
	}
}

// Appenders creating series at once must leave every postings list sorted:
// intersections merge them.
func TestConcurrentSeriesCreationKeepsPostingsSorted(t *testing.T) {
	db := openTest(t, t.TempDir())
	defer db.Close()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for batch := range 20 {
				app := db.Appender(context.Background())
				for i := range 100 {
					if _, err := app.Append(0, testSeries(g*10_000+batch*100+i), 1000, 1); err != nil {
						t.Error(err)
						return
					}
				}
				if err := app.Commit(); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	all, _ := db.head.postings.AllPostings()
	if len(all) != 8000 || !slices.IsSorted(all) {
		t.Fatalf("all postings: %d refs, sorted %v; want 8000 sorted", len(all), slices.IsSorted(all))
	}
	db.head.postings.Range(func(name, value string, refs []uint64) {
		if !slices.IsSorted(refs) {
			t.Errorf("postings of %s=%q not sorted", name, value)
		}
	})
}
