package wal

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
)

func readAll(t *testing.T, dir string) ([][]byte, error) {
	t.Helper()
	r, err := NewReader(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for r.Next() {
		out = append(out, bytes.Clone(r.Record()))
	}
	return out, r.Err()
}

func rec(i int) []byte {
	return []byte(fmt.Sprintf("record-%04d-%s", i, bytes.Repeat([]byte("x"), i%50)))
}

func TestLogAndRead(t *testing.T) {
	for _, p := range []FsyncPolicy{FsyncCommit, FsyncInterval, FsyncSegment} {
		t.Run(p.String(), func(t *testing.T) {
			dir := t.TempDir()
			w, err := Open(dir, Options{SegmentSize: 1024, Fsync: p})
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			var mu sync.Mutex
			seen := map[string]bool{}
			for g := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range 50 {
						r := rec(g*1000 + i)
						if err := w.Log(r); err != nil {
							t.Error(err)
						}
						mu.Lock()
						seen[string(r)] = true
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			got, err := readAll(t, dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 200 {
				t.Fatalf("read %d records, want 200", len(got))
			}
			for _, r := range got {
				if !seen[string(r)] {
					t.Fatalf("unexpected record %q", r)
				}
			}
			segs, _ := Segments(dir)
			if len(segs) < 5 {
				t.Errorf("expected several segments of 1KiB, got %v", segs)
			}
		})
	}
}

func TestTornAndCorruptTails(t *testing.T) {
	cases := map[string]func(path string, size int64){
		"torn payload": func(path string, size int64) { os.Truncate(path, size-3) },
		"torn header":  func(path string, size int64) { os.Truncate(path, size-int64(len(rec(9)))-frameHeader+3) },
		"zeros appended": func(path string, size int64) {
			f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			f.Write(make([]byte, 4096))
			f.Close()
		},
		"flipped bit": func(path string, size int64) {
			b, _ := os.ReadFile(path)
			b[size-2] ^= 0x10
			os.WriteFile(path, b, 0o644)
		},
	}
	for name, damage := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			w, _ := Open(dir, Options{Fsync: FsyncSegment})
			for i := range 10 {
				if err := w.Log(rec(i)); err != nil {
					t.Fatal(err)
				}
			}
			w.Close()
			path := SegmentName(dir, 0)
			st, _ := os.Stat(path)
			damage(path, st.Size())

			got, err := readAll(t, dir)
			var c *CorruptionError
			if !errors.As(err, &c) {
				t.Fatalf("want a corruption error, got %v", err)
			}
			want := 9
			if name == "zeros appended" {
				want = 10
			}
			if len(got) != want {
				t.Fatalf("valid prefix: %d records, want %d", len(got), want)
			}
			if err := Repair(dir, c); err != nil {
				t.Fatal(err)
			}
			// After repair the log reads cleanly and takes new records.
			w, err = Open(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Log([]byte("after")); err != nil {
				t.Fatal(err)
			}
			w.Close()
			got, err = readAll(t, dir)
			if err != nil || len(got) != want+1 || string(got[want]) != "after" {
				t.Fatalf("after repair: %d records, %v", len(got), err)
			}
		})
	}
}

func TestCutAndTruncate(t *testing.T) {
	dir := t.TempDir()
	w, _ := Open(dir, Options{})
	w.Log(rec(1))
	n, err := w.Cut()
	if err != nil || n != 1 {
		t.Fatalf("cut: %d %v", n, err)
	}
	w.Log(rec(2))
	if err := w.Truncate(n); err != nil {
		t.Fatal(err)
	}
	w.Close()
	got, err := readAll(t, dir)
	if err != nil || len(got) != 1 || !bytes.Equal(got[0], rec(2)) {
		t.Fatalf("after truncate: %q %v", got, err)
	}
	if err := w.Log(rec(3)); err == nil {
		t.Fatal("log after close succeeded")
	}
	if err := (&WAL{}).Log(nil); err == nil {
		t.Fatal("empty record accepted")
	}
}

// FuzzReader feeds arbitrary segment bytes to the reader: it must stop at a
// corruption error or the end, never panic, and every record it returns must
// carry a valid checksum.
func FuzzReader(f *testing.F) {
	dir := f.TempDir()
	w, _ := Open(dir, Options{Fsync: FsyncSegment})
	for i := range 3 {
		w.Log(rec(i))
	}
	w.Close()
	seed, _ := os.ReadFile(SegmentName(dir, 0))
	f.Add(seed)
	f.Add(seed[:len(seed)-4])
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(SegmentName(dir, 0), b, 0o644); err != nil {
			t.Fatal(err)
		}
		r, err := NewReader(dir, 0)
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for r.Next() {
			total += len(r.Record()) + frameHeader
		}
		var c *CorruptionError
		if err := r.Err(); err != nil {
			if !errors.As(err, &c) || c.Offset != int64(total) {
				t.Fatalf("error %v after %d valid bytes", err, total)
			}
		} else if total != len(b) {
			t.Fatalf("clean end after %d of %d bytes", total, len(b))
		}
	})
}

// The reader streams each segment through a window of readWindow bytes:
// records straddling its end, records larger than it and a torn record
// after them read as they were written, at the offsets they were written.
func TestReadAcrossWindow(t *testing.T) {
	dir := t.TempDir()
	w, err := Open(dir, Options{Fsync: FsyncSegment, SegmentSize: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	var want [][]byte
	sizes := []int{100, readWindow - 50, 300, 2*readWindow + 7, 1, readWindow, 4000}
	for i := range 40 {
		b := bytes.Repeat([]byte{byte(i)}, sizes[i%len(sizes)])
		copy(b, fmt.Sprint(i))
		if err := w.Log(b); err != nil {
			t.Fatal(err)
		}
		want = append(want, b)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	segs, _ := Segments(dir)
	if len(segs) < 3 {
		t.Fatalf("want records in several segments, got %v", segs)
	}
	got, err := readAll(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("record %d differs (%d bytes, want %d)", i, len(got[i]), len(want[i]))
		}
	}

	// Tear the last segment's last record: the error points at its start.
	last := SegmentName(dir, segs[len(segs)-1])
	st, _ := os.Stat(last)
	if err := os.Truncate(last, st.Size()-1); err != nil {
		t.Fatal(err)
	}
	r, err := NewReader(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	n, lastOff := 0, int64(0)
	for r.Next() {
		n++
		lastOff = r.Offset() + frameHeader + int64(len(r.Record()))
		if r.Segment() != segs[len(segs)-1] {
			lastOff = 0
		}
	}
	var c *CorruptionError
	if !errors.As(r.Err(), &c) || n != len(want)-1 {
		t.Fatalf("after tearing: %d records, err %v", n, r.Err())
	}
	if c.Segment != segs[len(segs)-1] || c.Offset != lastOff {
		t.Fatalf("corruption at segment %d offset %d, want %d offset %d", c.Segment, c.Offset, segs[len(segs)-1], lastOff)
	}
}
