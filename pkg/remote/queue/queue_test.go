package queue

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func openQueue(t *testing.T, dir string, opts Options) *Queue {
	t.Helper()
	q, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func appendN(t *testing.T, q *Queue, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		if err := q.Append(fmt.Appendf(nil, "record-%04d", i), 2); err != nil {
			t.Fatal(err)
		}
	}
}

// next reads one record, failing the test if none comes within a second.
func next(t *testing.T, q *Queue) Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	r, err := q.Next(ctx)
	if err != nil {
		t.Fatalf("next: %v", err)
	}
	return r
}

func expectNone(t *testing.T, q *Queue) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if r, err := q.Next(ctx); err == nil {
		t.Fatalf("unexpected record %q", r.Payload)
	}
}

func TestAppendReadAckAcrossSegments(t *testing.T) {
	dir := t.TempDir()
	q := openQueue(t, dir, Options{SegmentSize: 100})
	defer q.Close()
	appendN(t, q, 0, 20)
	if st := q.Stats(); st.Segments < 5 || st.Unread != 40 {
		t.Fatalf("stats %+v: want several segments and 40 unread items", st)
	}
	var last Position
	for i := range 20 {
		r := next(t, q)
		if want := fmt.Sprintf("record-%04d", i); string(r.Payload) != want || r.Items != 2 {
			t.Fatalf("record %d = %q (%d items), want %q", i, r.Payload, r.Items, want)
		}
		if !last.Before(r.End) {
			t.Fatalf("positions not increasing: %+v then %+v", last, r.End)
		}
		last = r.End
	}
	expectNone(t, q)
	if err := q.Ack(last); err != nil {
		t.Fatal(err)
	}
	if st := q.Stats(); st.Segments != 1 || st.Unread != 0 {
		t.Fatalf("after acknowledging everything: %+v, want only the segment being written", st)
	}
	// A waiting consumer wakes up on append.
	go func() { time.Sleep(20 * time.Millisecond); _ = q.Append([]byte("late"), 1) }()
	if r := next(t, q); string(r.Payload) != "late" {
		t.Fatalf("got %q", r.Payload)
	}
}

// A crash (no Close) and a reopen resend from the last acknowledged record,
// not from the start, and lose nothing after it.
func TestReopenWithoutCloseResendsFromAcknowledged(t *testing.T) {
	dir := t.TempDir()
	q := openQueue(t, dir, Options{SegmentSize: 150})
	appendN(t, q, 0, 10)
	var ack Position
	for i := range 6 {
		r := next(t, q)
		if i == 3 {
			ack = r.End // records 0..3 were sent; 4 and 5 were in flight
		}
	}
	if err := q.Ack(ack); err != nil {
		t.Fatal(err)
	}
	// No Close: the process died here.

	q2 := openQueue(t, dir, Options{SegmentSize: 150})
	defer q2.Close()
	if st := q2.Stats(); st.Unread != 12 {
		t.Fatalf("unread after reopen = %d, want 12 (6 records of 2 items)", st.Unread)
	}
	for i := 4; i < 10; i++ {
		if r := next(t, q2); string(r.Payload) != fmt.Sprintf("record-%04d", i) {
			t.Fatalf("after reopen got %q, want record %d", r.Payload, i)
		}
	}
	expectNone(t, q2)
	appendN(t, q2, 10, 11)
	if r := next(t, q2); string(r.Payload) != "record-0010" {
		t.Fatalf("new append after reopen: %q", r.Payload)
	}
}

// A write torn by a crash is cut off on open; the records before it stay.
func TestTornTailIsCutOnOpen(t *testing.T) {
	dir := t.TempDir()
	q := openQueue(t, dir, Options{})
	appendN(t, q, 0, 3)
	q.mtx.Lock()
	seg := q.segs[len(q.segs)-1].num
	q.mtx.Unlock()
	// Half a record header and then half a record.
	for _, tail := range [][]byte{{7, 0, 0}, {50, 0, 0, 0, 1, 2, 3, 4, 1, 0, 0, 0, 9, 9, 9, 9, 9, 9, 9, 9, 'x'}} {
		f, err := os.OpenFile(segmentName(dir, seg), os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(tail); err != nil {
			t.Fatal(err)
		}
		f.Close()

		q2 := openQueue(t, dir, Options{})
		for i := range 3 {
			if r := next(t, q2); string(r.Payload) != fmt.Sprintf("record-%04d", i) {
				t.Fatalf("record %d after torn tail: %q", i, r.Payload)
			}
		}
		expectNone(t, q2)
		if err := q2.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// A flipped byte in an older segment's record is found when it is read:
	// the rest of that segment is skipped and counted.
	b, _ := os.ReadFile(segmentName(dir, seg))
	b[2*31+30] ^= 0xff // the last byte of record 2 (records are 31 bytes)
	if err := os.WriteFile(segmentName(dir, seg), b, 0o644); err != nil {
		t.Fatal(err)
	}
	corrupt := 0
	q3 := openQueue(t, dir, Options{OnDrop: func(n int, reason string) {
		if reason == "corrupt" {
			corrupt += n
		}
	}})
	defer q3.Close()
	for i := range 2 {
		if r := next(t, q3); string(r.Payload) != fmt.Sprintf("record-%04d", i) {
			t.Fatalf("record %d: %q", i, r.Payload)
		}
	}
	expectNone(t, q3)
	if corrupt != 2 {
		t.Fatalf("corrupt items counted: %d, want 2", corrupt)
	}
}

// A full queue drops its oldest segments, counts what was never read, and
// keeps the newest records.
func TestBoundDropsOldestAndCounts(t *testing.T) {
	var mtx sync.Mutex
	dropped := map[string]int{}
	q := openQueue(t, t.TempDir(), Options{MaxBytes: 1000, SegmentSize: 200, OnDrop: func(n int, reason string) {
		mtx.Lock()
		dropped[reason] += n
		mtx.Unlock()
	}})
	defer q.Close()
	appendN(t, q, 0, 100) // 31 bytes each: 3100 bytes for a bound of 1000
	if st := q.Stats(); st.Bytes > 1000 {
		t.Fatalf("queue holds %d bytes, bound 1000", st.Bytes)
	}
	var read []string
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		r, err := q.Next(ctx)
		cancel()
		if err != nil {
			break
		}
		read = append(read, string(r.Payload))
	}
	if len(read) == 0 || read[len(read)-1] != "record-0099" {
		t.Fatalf("newest record not kept: %v", read)
	}
	mtx.Lock()
	defer mtx.Unlock()
	if got := dropped["queue_full"] + 2*len(read); got != 200 {
		t.Fatalf("dropped %d + read %d items = %d, want 200", dropped["queue_full"], 2*len(read), got)
	}
	// What was read comes in order and without gaps after the drop.
	first := 100 - len(read)
	for i, r := range read {
		if r != fmt.Sprintf("record-%04d", first+i) {
			t.Fatalf("read[%d] = %s, want record %d", i, r, first+i)
		}
	}
}

// Records already handed to the consumer are not counted as dropped when
// their segment goes; nor are acknowledged ones.
func TestBoundDoesNotCountReadRecords(t *testing.T) {
	dropped := 0
	q := openQueue(t, t.TempDir(), Options{MaxBytes: 400, SegmentSize: 100, OnDrop: func(n int, _ string) { dropped += n }})
	defer q.Close()
	appendN(t, q, 0, 6)
	for range 6 {
		next(t, q)
	}
	appendN(t, q, 6, 30)
	n := 0
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		_, err := q.Next(ctx)
		cancel()
		if err != nil {
			break
		}
		n++
	}
	if dropped+2*n != 48 {
		t.Fatalf("dropped %d + read %d = %d items, want the 48 appended after the first read", dropped, 2*n, dropped+2*n)
	}
}

func TestAgeBound(t *testing.T) {
	now := time.Unix(1000, 0)
	clock := func() time.Time { return now }
	dropped := map[string]int{}
	dir := t.TempDir()
	q := openQueue(t, dir, Options{MaxAge: time.Minute, SegmentSize: 100, Now: clock, OnDrop: func(n int, r string) { dropped[r] += n }})
	appendN(t, q, 0, 10) // several segments
	now = now.Add(30 * time.Second)
	appendN(t, q, 10, 11)
	now = now.Add(45 * time.Second) // the first ten are 75s old, the last 45s
	r := next(t, q)
	for r.Expired {
		r = next(t, q)
	}
	if string(r.Payload) != "record-0010" {
		t.Fatalf("got %q; want record 10, the only one within the bound", r.Payload)
	}
	// The old records were in complete segments, dropped and counted, except
	// those sharing the segment of record 10, which come back expired.
	if dropped["too_old"] == 0 {
		t.Fatalf("nothing counted as too old: %v", dropped)
	}
	q.Close()

	// After a restart past the bound, what is left is dropped too.
	now = now.Add(time.Hour)
	q2 := openQueue(t, dir, Options{MaxAge: time.Minute, Now: clock})
	defer q2.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if r, err := q2.Next(ctx); err == nil && !r.Expired {
		t.Fatalf("stale record %q not expired", r.Payload)
	}
}

func TestRewindReturnsUnacknowledged(t *testing.T) {
	q := openQueue(t, t.TempDir(), Options{SegmentSize: 100})
	defer q.Close()
	appendN(t, q, 0, 8)
	var ack Position
	for i := range 8 {
		r := next(t, q)
		if i == 2 {
			ack = r.End
		}
	}
	if err := q.Ack(ack); err != nil {
		t.Fatal(err)
	}
	if err := q.Rewind(); err != nil {
		t.Fatal(err)
	}
	if st := q.Stats(); st.Unread != 10 {
		t.Fatalf("unread after rewind = %d, want 10", st.Unread)
	}
	if r := next(t, q); string(r.Payload) != "record-0003" {
		t.Fatalf("after rewind got %q, want record 3", r.Payload)
	}
}

func TestCorruptAckFileResendsEverything(t *testing.T) {
	dir := t.TempDir()
	q := openQueue(t, dir, Options{})
	appendN(t, q, 0, 3)
	r := next(t, q)
	if err := q.Ack(r.End); err != nil {
		t.Fatal(err)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ackFileName), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	q2 := openQueue(t, dir, Options{})
	defer q2.Close()
	if r := next(t, q2); string(r.Payload) != "record-0000" {
		t.Fatalf("got %q, want everything again from record 0", r.Payload)
	}
}

func TestClosedQueue(t *testing.T) {
	q := openQueue(t, t.TempDir(), Options{})
	done := make(chan error)
	go func() {
		_, err := q.Next(context.Background())
		done <- err
	}()
	time.Sleep(10 * time.Millisecond)
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != ErrClosed {
			t.Fatalf("waiting consumer got %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("waiting consumer not woken by Close")
	}
	if err := q.Append([]byte("x"), 1); err != ErrClosed {
		t.Fatalf("append after close: %v", err)
	}
}

func BenchmarkAppend(b *testing.B) {
	for _, p := range []SyncPolicy{SyncSegment, SyncAppend} {
		b.Run(fmt.Sprint("sync=", p), func(b *testing.B) {
			q, err := Open(b.TempDir(), Options{Sync: p})
			if err != nil {
				b.Fatal(err)
			}
			defer q.Close()
			payload := make([]byte, 4096)
			b.SetBytes(int64(len(payload)))
			for b.Loop() {
				if err := q.Append(payload, 100); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkReadAck(b *testing.B) {
	q, err := Open(b.TempDir(), Options{Sync: SyncSegment, MaxBytes: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	payload := make([]byte, 4096)
	for range b.N {
		if err := q.Append(payload, 100); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(payload)))
	b.ResetTimer()
	for range b.N {
		r, err := q.Next(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if err := q.Ack(r.End); err != nil {
			b.Fatal(err)
		}
	}
}

// Segment numbers past 99999999 get a ninth digit and are still found.
func TestSegmentNumbersPastEightDigits(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(segmentName(dir, 99999999), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	q := openQueue(t, dir, Options{})
	appendN(t, q, 0, 1)
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "100000000")); err != nil {
		t.Fatal(err)
	}
	q2 := openQueue(t, dir, Options{})
	defer q2.Close()
	if r := next(t, q2); string(r.Payload) != "record-0000" {
		t.Fatalf("got %q", r.Payload)
	}
}
