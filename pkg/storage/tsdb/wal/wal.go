// Package wal is the write-ahead log: numbered segment files of
// length-prefixed, CRC-checked records. Log returns once the records are in
// the operating system (a killed process loses nothing); the fsync policy
// decides when they reach the disk. A torn or corrupt tail is cut back to the
// last valid record on open.
package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/graftlabs/graft/pkg/storage/tsdb/fileutil"
)

// Each record is framed as: length uint32 | CRC-32C of the payload uint32 | payload.
const (
	frameHeader = 8
	// MaxRecordSize bounds a record, so that a corrupt length cannot make
	// the reader allocate gigabytes.
	MaxRecordSize = 256 << 20
	// DefaultSegmentSize is when a segment is full and the next one starts.
	DefaultSegmentSize = 64 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// FsyncPolicy says when logged records are forced to disk.
type FsyncPolicy int

// The fsync policies. Every policy survives the process being killed; they
// differ on a power loss or kernel crash.
const (
	// FsyncCommit fsyncs before Log returns; concurrent callers share one
	// fsync (group commit). Nothing committed is lost, even on power loss.
	FsyncCommit FsyncPolicy = iota
	// FsyncInterval fsyncs in the background every Options.FsyncInterval:
	// a power loss loses at most that much.
	FsyncInterval
	// FsyncSegment fsyncs only when a segment is complete, as Prometheus does.
	FsyncSegment
)

// ParseFsyncPolicy reads a policy name as the configuration spells it.
func ParseFsyncPolicy(s string) (FsyncPolicy, error) {
	switch s {
	case "", "commit":
		return FsyncCommit, nil
	case "interval":
		return FsyncInterval, nil
	case "segment":
		return FsyncSegment, nil
	}
	return 0, fmt.Errorf("unknown fsync policy %q (want commit, interval or segment)", s)
}

func (p FsyncPolicy) String() string {
	return [...]string{"commit", "interval", "segment"}[p]
}

// Options configure a WAL.
type Options struct {
	SegmentSize   int64
	Fsync         FsyncPolicy
	FsyncInterval time.Duration
}

// WAL appends records to the newest segment of a directory.
type WAL struct {
	dir  string
	opts Options

	mtx     sync.Mutex
	seg     *os.File
	segNum  int
	segSize int64
	buf     []byte
	written uint64 // number of Log calls written
	closed  bool
	// broken is set when a failed write could not be cut back; the next
	// write starts a new segment so that the torn bytes stay at a tail.
	broken bool

	syncMtx sync.Mutex
	synced  uint64 // Log calls known to be on disk

	stop chan struct{}
	done chan struct{}
}

// Open opens the WAL in dir for appending, creating dir if needed. Records
// already there are left for a Reader; appends go to a new segment.
func Open(dir string, opts Options) (*WAL, error) {
	if opts.SegmentSize <= 0 {
		opts.SegmentSize = DefaultSegmentSize
	}
	if opts.FsyncInterval <= 0 {
		opts.FsyncInterval = time.Second
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create WAL directory: %w", err)
	}
	segs, err := Segments(dir)
	if err != nil {
		return nil, err
	}
	next := 0
	if len(segs) > 0 {
		next = segs[len(segs)-1] + 1
	}
	w := &WAL{dir: dir, opts: opts, stop: make(chan struct{}), done: make(chan struct{})}
	if err := w.openSegment(next); err != nil {
		return nil, err
	}
	if opts.Fsync == FsyncInterval {
		go w.syncLoop()
	} else {
		close(w.done)
	}
	return w, nil
}

// Dir is the WAL's directory.
func (w *WAL) Dir() string { return w.dir }

// SegmentName is the file name of segment n.
func SegmentName(dir string, n int) string { return filepath.Join(dir, fmt.Sprintf("%08d", n)) }

// Segments lists the segment numbers in dir, ascending.
func Segments(dir string) ([]int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("list WAL segments: %w", err)
	}
	var segs []int
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil || !e.Type().IsRegular() || len(e.Name()) != 8 {
			continue
		}
		segs = append(segs, n)
	}
	slices.Sort(segs)
	return segs, nil
}

func (w *WAL) openSegment(n int) error {
	f, err := os.OpenFile(SegmentName(w.dir, n), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("create WAL segment %d: %w", n, err)
	}
	if err := fileutil.SyncDir(w.dir); err != nil {
		f.Close()
		return fmt.Errorf("sync WAL directory: %w", err)
	}
	w.seg, w.segNum, w.segSize = f, n, 0
	return nil
}

// Log appends the records as one write. It returns after the write, and
// with FsyncCommit after the fsync. On error nothing of the call is in the
// log, so the caller may report the records as not written.
func (w *WAL) Log(recs ...[]byte) error {
	seq, err := w.Write(recs...)
	if err != nil {
		return err
	}
	return w.WaitSynced(seq)
}

// Write appends the records as one write without waiting for an fsync; it
// returns a sequence number for WaitSynced. On error nothing of the call is
// in the log.
func (w *WAL) Write(recs ...[]byte) (uint64, error) {
	w.mtx.Lock()
	defer w.mtx.Unlock()
	if w.closed {
		return 0, errors.New("WAL is closed")
	}
	w.buf = w.buf[:0]
	for _, r := range recs {
		if len(r) == 0 || len(r) > MaxRecordSize {
			return 0, fmt.Errorf("WAL record of %d bytes", len(r))
		}
		w.buf = binary.LittleEndian.AppendUint32(w.buf, uint32(len(r)))
		w.buf = binary.LittleEndian.AppendUint32(w.buf, crc32.Checksum(r, castagnoli))
		w.buf = append(w.buf, r...)
	}
	if err := w.write(w.buf); err != nil {
		return 0, err
	}
	if cap(w.buf) > 4<<20 {
		w.buf = nil // do not pin the memory of one huge batch
	}
	w.written++
	return w.written, nil
}

// WaitSynced returns once the Write numbered seq is as durable as the fsync
// policy makes it: on disk for FsyncCommit, written for the others.
func (w *WAL) WaitSynced(seq uint64) error {
	if w.opts.Fsync != FsyncCommit {
		return nil
	}
	return w.syncUpTo(seq)
}

// write puts b at the end of the current segment, starting the next one
// first when it is full or when an earlier write left it torn.
func (w *WAL) write(b []byte) error {
	if w.broken || (w.segSize > 0 && w.segSize+int64(len(b)) > w.opts.SegmentSize) {
		if err := w.cutLocked(); err != nil {
			return err
		}
		w.broken = false
	}
	n, err := w.seg.Write(b)
	if err == nil {
		w.segSize += int64(n)
		return nil
	}
	// Cut the partial write off, so that the segment ends on a whole record.
	if terr := w.seg.Truncate(w.segSize); terr != nil {
		w.broken = true
	} else if _, serr := w.seg.Seek(w.segSize, 0); serr != nil {
		w.broken = true
	}
	return fmt.Errorf("write WAL segment %d: %w", w.segNum, err)
}

// syncUpTo returns once the Log call number seq is on disk. One caller
// fsyncs for every call written before it started.
func (w *WAL) syncUpTo(seq uint64) error {
	w.syncMtx.Lock()
	defer w.syncMtx.Unlock()
	if w.synced >= seq {
		return nil
	}
	w.mtx.Lock()
	f, target := w.seg, w.written
	w.mtx.Unlock()
	if err := f.Sync(); err != nil {
		if errors.Is(err, os.ErrClosed) {
			// A cut or Close synced and closed that segment meanwhile.
			return w.syncAfterCut(target)
		}
		return fmt.Errorf("fsync WAL: %w", err)
	}
	w.synced = target
	return nil
}

func (w *WAL) syncAfterCut(target uint64) error {
	w.mtx.Lock()
	f := w.seg
	w.mtx.Unlock()
	if err := f.Sync(); err != nil && !errors.Is(err, os.ErrClosed) {
		return fmt.Errorf("fsync WAL: %w", err)
	}
	w.synced = target
	return nil
}

func (w *WAL) syncLoop() {
	defer close(w.done)
	t := time.NewTicker(w.opts.FsyncInterval)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			w.mtx.Lock()
			seq := w.written
			w.mtx.Unlock()
			_ = w.syncUpTo(seq) // errors surface on the next commit's write or at Close
		}
	}
}

// Cut closes the current segment (fsynced) and starts the next. It returns
// the number of the new segment: every record logged before Cut is in a
// lower-numbered segment.
func (w *WAL) Cut() (int, error) {
	w.mtx.Lock()
	defer w.mtx.Unlock()
	if w.closed {
		return 0, errors.New("WAL is closed")
	}
	if err := w.cutLocked(); err != nil {
		return 0, err
	}
	return w.segNum, nil
}

func (w *WAL) cutLocked() error {
	if err := w.seg.Sync(); err != nil {
		return fmt.Errorf("fsync WAL segment %d: %w", w.segNum, err)
	}
	if err := w.seg.Close(); err != nil {
		return fmt.Errorf("close WAL segment %d: %w", w.segNum, err)
	}
	written := w.written
	if err := w.openSegment(w.segNum + 1); err != nil {
		// Keep appending to nothing: the next write retries the cut.
		w.broken = true
		return err
	}
	// Everything written so far is synced with the old segment.
	w.markSynced(written)
	return nil
}

func (w *WAL) markSynced(seq uint64) {
	if w.syncMtx.TryLock() {
		if w.synced < seq {
			w.synced = seq
		}
		w.syncMtx.Unlock()
	}
}

// Truncate removes the segments numbered below n.
func (w *WAL) Truncate(n int) error {
	segs, err := Segments(w.dir)
	if err != nil {
		return err
	}
	for _, s := range segs {
		if s >= n {
			break
		}
		if err := os.Remove(SegmentName(w.dir, s)); err != nil {
			return fmt.Errorf("remove WAL segment %d: %w", s, err)
		}
	}
	return fileutil.SyncDir(w.dir)
}

// Size is the total size of the segments.
func (w *WAL) Size() int64 {
	s, _ := fileutil.DirSize(w.dir)
	return s
}

// Close fsyncs and closes the current segment.
func (w *WAL) Close() error {
	w.mtx.Lock()
	if w.closed {
		w.mtx.Unlock()
		return nil
	}
	w.closed = true
	w.mtx.Unlock()
	close(w.stop)
	<-w.done
	w.mtx.Lock()
	defer w.mtx.Unlock()
	err := w.seg.Sync()
	if cerr := w.seg.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("close WAL: %w", err)
	}
	return nil
}
