package tsdb

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/storage"
	"github.com/graftlabs/graft/pkg/storage/tsdb/wal"
)

// The crash test runs this test binary again as a child that ingests into a
// DB and prints each round it committed; the parent SIGKILLs it at a random
// moment, reopens the DB and checks that every committed round is there,
// complete, and nothing else (the round in flight is all there or absent).
const (
	crashChildEnv = "GRAFT_TSDB_CRASH_CHILD"
	crashSeries   = 200
)

func crashLabels(i int) labels.Labels {
	return labels.FromStrings("__name__", "crash_test", "series", strconv.Itoa(i))
}

func crashValue(round, i int) float64 { return float64(round*crashSeries+i) / 4 }

// Series 1 has start timestamps: a counter that resets every 7 rounds.
const crashSTSeries = 1

func crashST(round int) int64 { return int64(round-round%7)*1000 - 1 }

// Every fifth round from round 40 also commits two late samples to series
// 0: one inside the head, one in a range already cut into a block.
func lateRound(r int) bool { return r >= 40 && r%5 == 0 }

func lateSamples(r int) []sample {
	return []sample{{int64(r)*1000 - 30500, -float64(r) - 0.5}, {int64(r)*1000 - 2500, -float64(r)}}
}

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		if err := crashChild(dir); err != nil {
			fmt.Fprintln(os.Stderr, "crash child:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// crashOptions make blocks small, so that a kill often lands in the middle
// of cutting a block from the head or compacting blocks.
func crashOptions(policy wal.FsyncPolicy) Options {
	return Options{Fsync: policy, WALSegmentSize: 64 << 10, MaintenanceInterval: time.Hour,
		BlockRange: 10 * time.Second, MaxBlockDuration: 90 * time.Second, Retention: 24 * time.Hour,
		OutOfOrderTimeWindow: time.Minute}
}

// crashChild ingests rounds until it is killed, while another goroutine
// runs maintenance (blocks cut from the head, compaction, checkpoints)
// back to back.
func crashChild(dir string) error {
	policy, _ := wal.ParseFsyncPolicy(os.Getenv("GRAFT_TSDB_CRASH_FSYNC"))
	db, err := Open(dir, crashOptions(policy))
	if err != nil {
		return err
	}
	go func() {
		for {
			if err := db.Maintain(context.Background()); err != nil {
				fmt.Fprintln(os.Stderr, "maintenance:", err)
				os.Exit(3)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	st := db.Stats()
	round := 0
	if st.NumSamples > 0 {
		round = int(st.MaxTime/1000) + 1
	}
	out := bufio.NewWriter(os.Stdout)
	refs := make([]storage.SeriesRef, crashSeries)
	for ; ; round++ {
		app := db.Appender(context.Background())
		for i := range refs {
			t, v := int64(round)*1000, crashValue(round, i)
			if i == crashSTSeries {
				refs[i], err = app.(storage.StartTimestampAppender).AppendWithStartTimestamp(refs[i], crashLabels(i), crashST(round), t, v, nil, nil)
			} else {
				refs[i], err = app.Append(refs[i], crashLabels(i), t, v)
			}
			if err != nil {
				return err
			}
		}
		if lateRound(round) {
			for _, s := range lateSamples(round) {
				if _, err := app.Append(refs[0], crashLabels(0), s.t, s.v); err != nil {
					return fmt.Errorf("late sample at %d: %w", s.t, err)
				}
			}
		}
		if err := app.Commit(); err != nil {
			return err
		}
		fmt.Fprintf(out, "committed %d\n", round)
		out.Flush()
	}
}

func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test spawns processes")
	}
	kills := 40
	if s := os.Getenv("GRAFT_TSDB_CRASH_KILLS"); s != "" {
		kills, _ = strconv.Atoi(s)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	deadline := time.Now().Add(2 * time.Minute)
	lastCommitted := -1
	interrupted := 0 // kills that left a block half written
	for k := 0; k < kills && time.Now().Before(deadline); k++ {
		fsync := []string{"commit", "segment", "interval"}[k%3]
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir, "GRAFT_TSDB_CRASH_FSYNC="+fsync)
		stdout, _ := cmd.StdoutPipe()
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan int, 1024)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				if n, err := strconv.Atoi(strings.TrimPrefix(sc.Text(), "committed ")); err == nil {
					lines <- n
				}
			}
			close(lines)
		}()
		// Let it start (replay included) and commit a little, then kill it
		// at a random moment.
		select {
		case n, ok := <-lines:
			if !ok {
				cmd.Wait()
				t.Fatalf("child exited before committing: %s", stderr.String())
			}
			lastCommitted = max(lastCommitted, n)
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			t.Fatal("child did not commit within 30s")
		}
		time.Sleep(time.Duration(rng.IntN(150)) * time.Millisecond)
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		for n := range lines {
			lastCommitted = max(lastCommitted, n)
		}
		cmd.Wait()
		if interruptedBlockWrite(dir) {
			interrupted++
		}
		lastCommitted = verifyCrashState(t, dir, lastCommitted, k, true)
	}
	entries, _ := os.ReadDir(dir)
	blocks := 0
	for _, e := range entries {
		if isULID(e.Name()) {
			blocks++
		}
	}
	if blocks == 0 {
		t.Fatal("no block was ever written: the test does not exercise compaction")
	}
	t.Logf("%d kills survived (%d during a block write), %d rounds committed, %d blocks on disk", kills, interrupted, lastCommitted+1, blocks)
}

// interruptedBlockWrite says whether a block directory is still being
// written (or deleted).
func interruptedBlockWrite(dir string) bool {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), tmpSuffix) || strings.HasSuffix(e.Name(), deletingSuffix) {
			return true
		}
	}
	return false
}

// verifyCrashState opens the DB as the next start would and checks it; it
// returns the newest round present. withLate says the data is crashChild's,
// with its late samples and start timestamps.
func verifyCrashState(t *testing.T, dir string, committed, kill int, withLate bool) int {
	t.Helper()
	db, err := Open(dir, crashOptions(wal.FsyncSegment))
	if err != nil {
		t.Fatalf("kill %d: reopen: %v", kill, err)
	}
	if cb := db.CorruptBlocks(); len(cb) > 0 {
		t.Fatalf("kill %d: the crash left a corrupt block: %+v", kill, cb)
	}
	// Close without a checkpoint: the child replays the WAL as after the crash.
	defer db.CloseWithoutCheckpoint()
	got := dump(t, db)
	if len(got) != crashSeries {
		t.Fatalf("kill %d: %d series after restart, want %d", kill, len(got), crashSeries)
	}
	present := -1
	var late []sample
	for i := range crashSeries {
		samples := got[crashLabels(i).String()]
		if i == 0 {
			inOrder := samples[:0:0]
			for _, s := range samples {
				if s.t%1000 == 0 {
					inOrder = append(inOrder, s)
				} else {
					late = append(late, s)
				}
			}
			samples = inOrder
		}
		rounds := len(samples) - 1
		if i == 0 {
			present = rounds
		}
		if rounds != present {
			t.Fatalf("kill %d: series %d has rounds 0..%d, series 0 has 0..%d: a commit was not atomic", kill, i, rounds, present)
		}
		for r, s := range samples {
			if s.t != int64(r)*1000 || s.v != crashValue(r, i) {
				t.Fatalf("kill %d: series %d sample %d is %v, want t=%d v=%v", kill, i, r, s, r*1000, crashValue(r, i))
			}
		}
	}
	if withLate {
		verifyCrashST(t, db, kill, present)
	}
	if present < committed || present > committed+1 {
		t.Fatalf("kill %d: rounds 0..%d present, the child reported 0..%d committed", kill, present, committed)
	}
	var wantLate []sample
	for r := range present + 1 {
		if withLate && lateRound(r) {
			wantLate = append(wantLate, lateSamples(r)...)
		}
	}
	slices.SortFunc(wantLate, func(a, b sample) int { return cmpInt(a.t, b.t) })
	if !slices.Equal(late, wantLate) && len(late)+len(wantLate) > 0 {
		t.Fatalf("kill %d: %d late samples of rounds 0..%d, want %d\ngot  %v\nwant %v", kill, len(late), present, len(wantLate), late, wantLate)
	}
	return present
}

func crashLabelsMatcher() *labels.Matcher {
	return labels.MustNewMatcher(labels.MatchEqual, "__name__", "crash_test")
}

// verifyCrashST checks the start timestamps of series crashSTSeries,
// rounds 0..present, after the restart.
func verifyCrashST(t *testing.T, db *DB, kill, present int) {
	t.Helper()
	q, err := db.Querier(0, int64(present)*1000)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	ss := q.Select(context.Background(), nil, labels.MustNewMatcher(labels.MatchEqual, "series", strconv.Itoa(crashSTSeries)))
	if !ss.Next() {
		t.Fatalf("kill %d: series %d not found", kill, crashSTSeries)
	}
	it := ss.At().Iterator(nil)
	n := 0
	for it.Next() != storage.ValNone {
		ts := it.AtT()
		if st := it.(storage.StartTimestampIterator).AtST(); st != crashST(int(ts/1000)) {
			t.Fatalf("kill %d: start timestamp %d at %d, want %d", kill, st, ts, crashST(int(ts/1000)))
		}
		n++
	}
	if it.Err() != nil || n != present+1 {
		t.Fatalf("kill %d: %d samples with start timestamps, want %d: %v", kill, n, present+1, it.Err())
	}
}
