//go:build linux

package tsdb

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/graftlabs/graft/pkg/storage"
	"github.com/graftlabs/graft/pkg/storage/tsdb/wal"
)

const (
	diskFullChildEnv      = "GRAFT_TSDB_DISKFULL_CHILD"
	diskFullCompactionEnv = "GRAFT_TSDB_DISKFULL_COMPACTION"
)

func init() {
	if dir := os.Getenv(diskFullChildEnv); dir != "" {
		os.Exit(diskFullChild(dir))
	}
	if dir := os.Getenv(diskFullCompactionEnv); dir != "" {
		os.Exit(diskFullCompactionChild(dir))
	}
}

// diskFullCompactionChild opens a DB whose head holds more than a block's
// chunk file may take under the file size limit: cutting the block fails
// clearly, leaves nothing half written, and reads and appends go on.
func diskFullCompactionChild(dir string) int {
	signal.Ignore(syscall.SIGXFSZ)
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: 8 << 10, Max: 8 << 10}); err != nil {
		fmt.Println("setrlimit:", err)
		return 2
	}
	db, err := Open(dir, diskFullBlockOptions())
	if err != nil {
		fmt.Println("open:", err)
		return 2
	}
	defer db.CloseWithoutCheckpoint()
	err = db.Maintain(context.Background())
	if err == nil || !strings.Contains(err.Error(), "file too large") {
		fmt.Println("maintenance did not fail clearly:", err)
		return 3
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 { // lock and wal
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		fmt.Println("a failed block write left entries behind:", names)
		return 3
	}
	st := db.Stats()
	round := int(st.MaxTime/1000) + 1
	app := db.Appender(context.Background())
	for i := range crashSeries {
		app.Append(0, crashLabels(i), int64(round)*1000, crashValue(round, i))
	}
	if err := app.Commit(); err != nil {
		fmt.Println("append after the failed block write:", err)
		return 3
	}
	fmt.Printf("committed %d (%v)\n", round, err)
	return 0
}

// diskFullBlockOptions make blocks of five minutes: 60,000 samples, more
// chunk bytes than the child's file size limit.
func diskFullBlockOptions() Options {
	o := crashOptions(wal.FsyncSegment)
	o.BlockRange, o.MaxBlockDuration = 5*time.Minute, 5*time.Minute
	return o
}

// A block write that runs out of space fails clearly and loses nothing.
func TestDiskFullDuringBlockWrite(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	db, err := Open(dir, diskFullBlockOptions())
	if err != nil {
		t.Fatal(err)
	}
	for round := range 600 { // 10 minutes: more than a block range and a half
		app := db.Appender(context.Background())
		for i := range crashSeries {
			app.Append(0, crashLabels(i), int64(round)*1000, crashValue(round, i))
		}
		if err := app.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	db.CloseWithoutCheckpoint()
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), diskFullCompactionEnv+"="+dir)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v: %s", err, out)
	}
	t.Log(strings.TrimSpace(string(out)))
	if got := verifyCrashState(t, dir, 600, 0, false); got != 600 {
		t.Fatalf("rounds 0..%d present, 0..600 committed", got)
	}
}

// diskFullChild runs with a file size limit, so that the WAL segment hits
// it as it would a full disk (EFBIG instead of ENOSPC, through the same
// write path). It commits until a commit fails, checks that the failure is
// clear and that reads still serve every committed round, then prints the
// rounds it committed.
func diskFullChild(dir string) int {
	signal.Ignore(syscall.SIGXFSZ)
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: 256 << 10, Max: 256 << 10}); err != nil {
		fmt.Println("setrlimit:", err)
		return 2
	}
	db, err := Open(dir, Options{Fsync: wal.FsyncCommit, WALSegmentSize: 1 << 20, MaintenanceInterval: time.Hour})
	if err != nil {
		fmt.Println("open:", err)
		return 2
	}
	refs := make([]storage.SeriesRef, crashSeries)
	committed := -1
	var failure error
	for round := 0; round < 10000 && failure == nil; round++ {
		app := db.Appender(context.Background())
		for i := range refs {
			refs[i], _ = app.Append(refs[i], crashLabels(i), int64(round)*1000, crashValue(round, i))
		}
		if failure = app.Commit(); failure == nil {
			committed = round
		}
	}
	if failure == nil || !strings.Contains(failure.Error(), "write WAL segment") {
		fmt.Println("commit did not fail clearly:", failure)
		return 3
	}
	// Retrying the same round fails too, and reads keep serving what was
	// committed.
	app := db.Appender(context.Background())
	for i := range refs {
		app.Append(refs[i], crashLabels(i), int64(committed+1)*1000, crashValue(committed+1, i))
	}
	if err := app.Commit(); err == nil {
		fmt.Println("commit on a full disk succeeded")
		return 3
	}
	q, _ := db.Querier(0, 1<<62)
	ss := q.Select(context.Background(), nil, crashLabelsMatcher())
	n := 0
	for ss.Next() {
		it := ss.At().Iterator(nil)
		for it.Next() != storage.ValNone {
			n++
		}
	}
	if n != (committed+1)*crashSeries {
		fmt.Printf("reads serve %d samples, %d committed\n", n, (committed+1)*crashSeries)
		return 3
	}
	fmt.Printf("committed %d (%v)\n", committed, failure)
	return 0
}

func TestDiskFullFailsWritesKeepsReadsAndCommits(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), diskFullChildEnv+"="+dir)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v: %s", err, out)
	}
	line := strings.TrimSpace(string(out))
	t.Log(line)
	fields := strings.Fields(strings.TrimPrefix(line, "committed "))
	committed, err := strconv.Atoi(fields[0])
	if err != nil || committed < 1 {
		t.Fatalf("child said %q", line)
	}
	// With space again, everything committed is there and nothing else.
	if got := verifyCrashState(t, dir, committed, 0, false); got != committed {
		t.Fatalf("after the disk filled: rounds 0..%d present, 0..%d committed", got, committed)
	}
}
