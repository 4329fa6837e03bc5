// Package queue is remote write's durable queue: an append-only log of
// opaque records in numbered segment files, read in order by one consumer,
// with an acknowledged position kept in a file beside them. A restart, even
// after a crash, reads again from the last acknowledged position, so that
// nothing appended is lost and at most what was in flight is read twice.
//
// The queue is bounded by size and by age. When appending would pass the
// size bound, or when a segment's newest record is older than the age
// bound, the oldest segments are deleted whether acknowledged or not, and
// the items the consumer had not read yet are reported through
// Options.OnDrop. The queue knows nothing of samples: it counts "items"
// only because the caller says how many a record holds.
//
// It is deliberately independent of the TSDB's write-ahead log, whose
// records, checkpoints and truncation serve the head, not a sender.
package queue

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Each record is framed as
//
//	length uint32 | CRC-32C uint32 | items uint32 | appended-at int64 (ms) | payload
//
// where length is the payload's and the CRC covers everything after it, so
// that a torn or corrupt record is recognised and the item count and age of
// a segment can be learnt from the headers alone.
const headerSize = 20

// MaxRecordSize bounds one record, so that a corrupt length cannot make the
// reader allocate gigabytes.
const MaxRecordSize = 64 << 20

// Defaults of Options.
const (
	DefaultMaxBytes     = 512 << 20
	minSegmentSize      = 64 << 10
	maxSegmentSize      = 16 << 20
	ackFileName         = "acked"
	defaultSyncInterval = time.Second
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrClosed is returned by a closed queue.
var ErrClosed = errors.New("queue is closed")

// SyncPolicy says when appended records are forced to disk. Every policy
// survives the process being killed (Append returns after the write); they
// differ on a power loss.
type SyncPolicy int

// The sync policies, as graft.storage.fsync names them.
const (
	// SyncAppend fsyncs before Append returns; concurrent appends share one fsync.
	SyncAppend SyncPolicy = iota
	// SyncInterval fsyncs every Options.SyncInterval.
	SyncInterval
	// SyncSegment fsyncs when a segment is complete.
	SyncSegment
)

func (p SyncPolicy) String() string {
	switch p {
	case SyncAppend:
		return "append"
	case SyncInterval:
		return "interval"
	case SyncSegment:
		return "segment"
	}
	return fmt.Sprintf("SyncPolicy(%d)", int(p))
}

// Options configure a Queue.
type Options struct {
	// MaxBytes bounds the segments on disk (default DefaultMaxBytes).
	MaxBytes int64
	// MaxAge drops records appended longer ago than this (0: no age bound).
	MaxAge time.Duration
	// SegmentSize is when a segment is full; by default an eighth of
	// MaxBytes within [64 KiB, 16 MiB], so that dropping the oldest segment
	// drops a small part of the queue.
	SegmentSize  int64
	Sync         SyncPolicy
	SyncInterval time.Duration
	// OnDrop is told how many unread items a bound dropped, and why
	// ("queue_full" or "too_old"). It is called with the queue locked.
	OnDrop func(items int, reason string)
	Logger *slog.Logger
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
}

func (o *Options) applyDefaults() {
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.SegmentSize <= 0 {
		o.SegmentSize = min(max(o.MaxBytes/8, minSegmentSize), maxSegmentSize)
	}
	if o.SyncInterval <= 0 {
		o.SyncInterval = defaultSyncInterval
	}
	if o.OnDrop == nil {
		o.OnDrop = func(int, string) {}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Position is a place in the queue: a segment and a byte offset in it.
type Position struct {
	Segment int
	Offset  int64
}

// Before says whether p comes before o.
func (p Position) Before(o Position) bool {
	return p.Segment < o.Segment || p.Segment == o.Segment && p.Offset < o.Offset
}

// Record is one record read from the queue.
type Record struct {
	Payload    []byte
	Items      int
	AppendedAt time.Time
	// End is the position right after the record: acknowledging it
	// acknowledges this record and every one before it.
	End Position
	// Expired says the record is older than Options.MaxAge: the consumer
	// should count its items as dropped and acknowledge it unsent.
	Expired bool
}

// segment is what the queue knows of one segment file.
type segment struct {
	num    int
	size   int64 // bytes of whole, valid records
	items  int   // items in the segment
	read   int   // items the consumer has been handed
	newest int64 // append time of the newest record, unix ms
}

// Queue is the durable queue in one directory. Append may be called
// concurrently; Next, Ack and Rewind belong to one consumer.
type Queue struct {
	dir    string
	opts   Options
	logger *slog.Logger

	mtx     sync.Mutex
	segs    []*segment // oldest first; the last one is written to
	w       *os.File
	r       *os.File // the consumer's open segment
	rnum    int
	rpos    Position
	acked   Position
	size    int64
	closed  bool
	broken  bool   // a failed write could not be cut back: cut before the next
	written uint64 // Append calls written
	notify  chan struct{}

	syncMtx sync.Mutex
	synced  uint64

	ackMtx       sync.Mutex // one writer of the ack file at a time
	ackPersisted Position

	stop chan struct{}
	done chan struct{}
}

// Open opens the queue in dir, creating it if needed. Records already there
// are read again from the acknowledged position; a torn record at the end
// of the newest segment (a crash during a write) is cut off. Appends go to
// a new segment.
func Open(dir string, opts Options) (*Queue, error) {
	opts.applyDefaults()
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create queue directory: %w", err)
	}
	nums, err := listSegments(dir)
	if err != nil {
		return nil, err
	}
	q := &Queue{
		dir: dir, opts: opts, logger: opts.Logger,
		notify: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}
	for i, n := range nums {
		seg, err := q.scanSegment(n, i == len(nums)-1)
		if err != nil {
			return nil, err
		}
		q.segs = append(q.segs, seg)
		q.size += seg.size
	}
	next := 0
	if len(nums) > 0 {
		next = nums[len(nums)-1] + 1
	}
	if err := q.openWriter(next); err != nil {
		return nil, err
	}
	if err := q.restoreAck(); err != nil {
		q.w.Close()
		return nil, err
	}
	q.dropExpiredLocked()
	q.enforceSizeLocked()
	if opts.Sync == SyncInterval {
		go q.syncLoop()
	} else {
		close(q.done)
	}
	return q, nil
}

func segmentName(dir string, n int) string { return filepath.Join(dir, fmt.Sprintf("%08d", n)) }

// listSegments lists the segment numbers in dir, ascending.
func listSegments(dir string) ([]int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list queue segments: %w", err)
	}
	var nums []int
	for _, e := range entries {
		// Names have at least 8 digits; numbers past 99999999 have more.
		n, err := strconv.Atoi(e.Name())
		if err != nil || n < 0 || len(e.Name()) < 8 || !e.Type().IsRegular() {
			continue
		}
		nums = append(nums, n)
	}
	slices.Sort(nums)
	return nums, nil
}

// scanSegment learns a segment's size, items and age from its record
// headers. Only the newest segment can end in a torn write; its records are
// checked in full and the file is cut back to the last valid one. An older
// segment that ends badly keeps its valid prefix (its CRCs are checked when
// the consumer reads it).
func (q *Queue) scanSegment(n int, newest bool) (*segment, error) {
	name := segmentName(q.dir, n)
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("open queue segment %d: %w", n, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat queue segment %d: %w", n, err)
	}
	seg := &segment{num: n}
	var reason error
	for seg.size < st.Size() {
		h, payload, err := readFrame(f, seg.size, st.Size(), newest)
		if err != nil {
			reason = err
			break
		}
		seg.items += int(h.items)
		seg.newest = h.appendedAt
		seg.size += headerSize + int64(len(payload)) + h.skipped
	}
	if reason == nil {
		return seg, nil
	}
	q.logger.Warn("Remote-write queue segment ends in a torn or corrupt record; keeping the records before it",
		"segment", n, "offset", seg.size, "err", reason)
	if newest {
		if err := f.Truncate(seg.size); err != nil {
			return nil, fmt.Errorf("cut torn tail of queue segment %d: %w", n, err)
		}
		if err := f.Sync(); err != nil {
			return nil, fmt.Errorf("sync queue segment %d: %w", n, err)
		}
	}
	return seg, nil
}

type frameHeader struct {
	items      uint32
	appendedAt int64
	// skipped is the payload length when the payload was not read.
	skipped int64
}

// readFrame reads the record at off of a file of the given size. With
// check, it reads and verifies the payload; without, it returns only the
// header and the payload's length in skipped.
func readFrame(f io.ReaderAt, off, size int64, check bool) (frameHeader, []byte, error) {
	var hdr [headerSize]byte
	if size-off < headerSize {
		return frameHeader{}, nil, fmt.Errorf("torn record header (%d bytes)", size-off)
	}
	if _, err := f.ReadAt(hdr[:], off); err != nil {
		return frameHeader{}, nil, fmt.Errorf("read record header: %w", err)
	}
	n := int64(binary.LittleEndian.Uint32(hdr[0:]))
	if n == 0 || n > MaxRecordSize {
		return frameHeader{}, nil, fmt.Errorf("invalid record length %d", n)
	}
	if n > size-off-headerSize {
		return frameHeader{}, nil, fmt.Errorf("torn record: %d of %d bytes", size-off-headerSize, n)
	}
	h := frameHeader{
		items:      binary.LittleEndian.Uint32(hdr[8:]),
		appendedAt: int64(binary.LittleEndian.Uint64(hdr[12:])),
	}
	if !check {
		h.skipped = n
		return h, nil, nil
	}
	payload := make([]byte, n)
	if _, err := f.ReadAt(payload, off+headerSize); err != nil {
		return frameHeader{}, nil, fmt.Errorf("read record: %w", err)
	}
	crc := crc32.Update(crc32.Checksum(hdr[8:], castagnoli), castagnoli, payload)
	if crc != binary.LittleEndian.Uint32(hdr[4:]) {
		return frameHeader{}, nil, errors.New("record checksum mismatch")
	}
	return h, payload, nil
}

// Stats describe a queue for self-monitoring.
type Stats struct {
	// Bytes is the size of the segments on disk.
	Bytes int64
	// Unread is the number of items not handed to the consumer yet.
	Unread int
	// Segments is the number of segment files.
	Segments int
	Acked    Position
}

// Stats returns the queue's current size and backlog.
func (q *Queue) Stats() Stats {
	q.mtx.Lock()
	defer q.mtx.Unlock()
	st := Stats{Bytes: q.size, Segments: len(q.segs), Acked: q.acked}
	for _, s := range q.segs {
		st.Unread += s.items - s.read
	}
	return st
}

// Close writes the acknowledged position durably, fsyncs and closes the
// segment being written. The consumer's Next returns ErrClosed.
func (q *Queue) Close() error {
	q.mtx.Lock()
	if q.closed {
		q.mtx.Unlock()
		return nil
	}
	q.mtx.Unlock()
	perr := q.persistAck(true)
	q.mtx.Lock()
	q.closed = true
	q.mtx.Unlock()
	close(q.stop)
	<-q.done
	q.mtx.Lock()
	defer q.mtx.Unlock()
	q.closeReaderLocked()
	err := q.w.Sync()
	if cerr := q.w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		err = fmt.Errorf("close queue: %w", err)
	}
	select {
	case q.notify <- struct{}{}: // wake a waiting consumer
	default:
	}
	return errors.Join(perr, err)
}
