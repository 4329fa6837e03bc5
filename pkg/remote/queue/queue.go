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
	"context"
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

	"github.com/graftlabs/graft/pkg/storage/tsdb/fileutil"
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

func (q *Queue) openWriter(n int) error {
	f, err := os.OpenFile(segmentName(q.dir, n), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("create queue segment %d: %w", n, err)
	}
	if err := fileutil.SyncDir(q.dir); err != nil {
		f.Close()
		return fmt.Errorf("sync queue directory: %w", err)
	}
	q.w = f
	q.segs = append(q.segs, &segment{num: n})
	return nil
}

// Append adds one record holding items items. It returns once the record
// is written (and with SyncAppend, on disk); on error nothing of it is in
// the queue.
func (q *Queue) Append(payload []byte, items int) error {
	if len(payload) == 0 || len(payload) > MaxRecordSize {
		return fmt.Errorf("queue record of %d bytes", len(payload))
	}
	now := q.opts.Now().UnixMilli()
	frame := make([]byte, headerSize, headerSize+len(payload))
	binary.LittleEndian.PutUint32(frame[0:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(frame[8:], uint32(items))
	binary.LittleEndian.PutUint64(frame[12:], uint64(now))
	binary.LittleEndian.PutUint32(frame[4:], crc32.Update(crc32.Checksum(frame[8:], castagnoli), castagnoli, payload))
	frame = append(frame, payload...)

	q.mtx.Lock()
	seq, err := q.appendLocked(frame, items, now)
	q.mtx.Unlock()
	if err != nil {
		return err
	}
	select {
	case q.notify <- struct{}{}:
	default:
	}
	if q.opts.Sync == SyncAppend {
		return q.syncUpTo(seq)
	}
	return nil
}

func (q *Queue) appendLocked(frame []byte, items int, now int64) (uint64, error) {
	if q.closed {
		return 0, ErrClosed
	}
	seg := q.segs[len(q.segs)-1]
	if q.broken || (seg.size > 0 && seg.size+int64(len(frame)) > q.opts.SegmentSize) {
		if err := q.cutLocked(); err != nil {
			return 0, err
		}
		q.broken = false
		seg = q.segs[len(q.segs)-1]
	}
	n, err := q.w.Write(frame)
	if err != nil {
		// Cut the partial write off, so that the segment ends on a whole record.
		if terr := q.w.Truncate(seg.size); terr != nil {
			q.broken = true
		} else if _, serr := q.w.Seek(seg.size, io.SeekStart); serr != nil {
			q.broken = true
		}
		return 0, fmt.Errorf("write queue segment %d: %w", seg.num, err)
	}
	seg.size += int64(n)
	seg.items += items
	seg.newest = now
	q.size += int64(n)
	q.written++
	q.enforceSizeLocked()
	return q.written, nil
}

// cutLocked completes the segment being written (fsynced) and starts the next.
func (q *Queue) cutLocked() error {
	if err := q.w.Sync(); err != nil {
		return fmt.Errorf("fsync queue segment: %w", err)
	}
	if err := q.w.Close(); err != nil {
		return fmt.Errorf("close queue segment: %w", err)
	}
	written := q.written
	if err := q.openWriter(q.segs[len(q.segs)-1].num + 1); err != nil {
		return err
	}
	if q.syncMtx.TryLock() {
		q.synced = max(q.synced, written)
		q.syncMtx.Unlock()
	}
	return nil
}

// syncUpTo returns once Append number seq is on disk; one fsync serves
// every append written before it started.
func (q *Queue) syncUpTo(seq uint64) error {
	q.syncMtx.Lock()
	defer q.syncMtx.Unlock()
	if q.synced >= seq {
		return nil
	}
	q.mtx.Lock()
	f, target := q.w, q.written
	q.mtx.Unlock()
	if err := f.Sync(); err != nil && !errors.Is(err, os.ErrClosed) {
		// ErrClosed: a cut synced and closed that segment meanwhile.
		return fmt.Errorf("fsync queue: %w", err)
	}
	q.synced = target
	return nil
}

func (q *Queue) syncLoop() {
	defer close(q.done)
	t := time.NewTicker(q.opts.SyncInterval)
	defer t.Stop()
	for {
		select {
		case <-q.stop:
			return
		case <-t.C:
			q.mtx.Lock()
			seq := q.written
			q.mtx.Unlock()
			if err := q.syncUpTo(seq); err != nil {
				q.logger.Error("Syncing the remote-write queue failed", "err", err)
			}
		}
	}
}

// enforceSizeLocked drops the oldest segments while the queue is larger
// than its bound. The segment being written is never dropped.
func (q *Queue) enforceSizeLocked() {
	for q.size > q.opts.MaxBytes && len(q.segs) > 1 {
		q.dropOldestLocked("queue_full")
	}
}

// dropExpiredLocked drops the oldest segments whose newest record is past
// the age bound.
func (q *Queue) dropExpiredLocked() {
	if q.opts.MaxAge <= 0 {
		return
	}
	cutoff := q.opts.Now().Add(-q.opts.MaxAge).UnixMilli()
	for len(q.segs) > 1 && q.segs[0].newest < cutoff {
		q.dropOldestLocked("too_old")
	}
}

// dropOldestLocked deletes the oldest segment, moving the consumer and the
// acknowledged position past it, and reports the items nobody read.
func (q *Queue) dropOldestLocked(reason string) {
	seg := q.segs[0]
	next := Position{Segment: q.segs[1].num}
	if q.r != nil && q.rnum == seg.num {
		q.closeReaderLocked()
	}
	if q.rpos.Before(next) {
		q.rpos = next
	}
	if q.acked.Before(next) {
		q.acked = next
	}
	if err := os.Remove(segmentName(q.dir, seg.num)); err != nil && !errors.Is(err, os.ErrNotExist) {
		q.logger.Error("Removing a remote-write queue segment failed", "segment", seg.num, "err", err)
	}
	q.segs = q.segs[1:]
	q.size -= seg.size
	if unread := seg.items - seg.read; unread > 0 {
		q.logger.Warn("Remote-write queue bound reached: dropping its oldest unsent records",
			"reason", reason, "items", unread, "segment", seg.num)
		q.opts.OnDrop(unread, reason)
	}
}

func (q *Queue) closeReaderLocked() {
	if q.r != nil {
		_ = q.r.Close() // read-only: nothing to lose
		q.r = nil
	}
}

// Next returns the next record, waiting for one until ctx is done. Records
// past the age bound come back with Expired set.
func (q *Queue) Next(ctx context.Context) (Record, error) {
	for {
		q.mtx.Lock()
		if q.closed {
			q.mtx.Unlock()
			return Record{}, ErrClosed
		}
		rec, ok := q.readLocked()
		q.mtx.Unlock()
		if ok {
			return rec, nil
		}
		// The periodic wake-up applies the age bound while nothing is appended.
		t := time.NewTimer(time.Second)
		select {
		case <-ctx.Done():
			t.Stop()
			return Record{}, ctx.Err()
		case <-q.notify:
		case <-t.C:
		}
		t.Stop()
	}
}

// readLocked reads the record at the consumer's position, if there is one.
func (q *Queue) readLocked() (Record, bool) {
	q.dropExpiredLocked()
	for {
		i := q.segIndexLocked(q.rpos)
		seg := q.segs[i]
		if q.rpos.Offset >= seg.size {
			if i == len(q.segs)-1 {
				return Record{}, false // caught up with the writer
			}
			q.rpos = Position{Segment: q.segs[i+1].num}
			continue
		}
		rec, err := q.readRecordLocked(seg)
		if err != nil {
			// Only disk corruption gets here: the rest of the segment is lost.
			unread := seg.items - seg.read
			q.logger.Error("Remote-write queue segment is corrupt; skipping the rest of it",
				"segment", seg.num, "offset", q.rpos.Offset, "items", unread, "err", err)
			seg.read = seg.items
			q.opts.OnDrop(unread, "corrupt")
			q.rpos.Offset = seg.size
			continue
		}
		seg.read += rec.Items
		q.rpos = rec.End
		if q.opts.MaxAge > 0 && q.opts.Now().Sub(rec.AppendedAt) > q.opts.MaxAge {
			rec.Expired = true
		}
		return rec, true
	}
}

// segIndexLocked finds the segment of p, moving p to the oldest segment
// when a bound deleted its own.
func (q *Queue) segIndexLocked(p Position) int {
	for i, s := range q.segs {
		if s.num >= p.Segment {
			if s.num > p.Segment {
				q.rpos = Position{Segment: s.num}
			}
			return i
		}
	}
	last := len(q.segs) - 1
	q.rpos = Position{Segment: q.segs[last].num, Offset: q.segs[last].size}
	return last
}

func (q *Queue) readRecordLocked(seg *segment) (Record, error) {
	if q.r == nil || q.rnum != seg.num {
		q.closeReaderLocked()
		f, err := os.Open(segmentName(q.dir, seg.num))
		if err != nil {
			return Record{}, fmt.Errorf("open queue segment %d: %w", seg.num, err)
		}
		q.r, q.rnum = f, seg.num
	}
	h, payload, err := readFrame(q.r, q.rpos.Offset, seg.size, true)
	if err != nil {
		return Record{}, err
	}
	return Record{
		Payload:    payload,
		Items:      int(h.items),
		AppendedAt: time.UnixMilli(h.appendedAt),
		End:        Position{Segment: seg.num, Offset: q.rpos.Offset + headerSize + int64(len(payload))},
	}, nil
}

// Ack records that every record up to pos is done with (sent, or given
// up on). Segments wholly before it are deleted, and pos is written to the
// ack file, where a restart starts reading.
func (q *Queue) Ack(pos Position) error {
	q.mtx.Lock()
	if q.closed {
		q.mtx.Unlock()
		return ErrClosed
	}
	if !q.acked.Before(pos) {
		q.mtx.Unlock()
		return nil
	}
	q.acked = pos
	var errs []error
	for len(q.segs) > 1 && q.segs[0].num < pos.Segment {
		seg := q.segs[0]
		if q.r != nil && q.rnum == seg.num {
			q.closeReaderLocked()
		}
		if err := os.Remove(segmentName(q.dir, seg.num)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove acknowledged queue segment %d: %w", seg.num, err))
		}
		q.segs = q.segs[1:]
		q.size -= seg.size
	}
	q.mtx.Unlock()
	errs = append(errs, q.persistAck(false))
	return errors.Join(errs...)
}

// ackFile encodes a position: segment uint64 | offset uint64 | CRC-32C uint32.
func encodeAck(p Position) []byte {
	b := make([]byte, 20)
	binary.LittleEndian.PutUint64(b[0:], uint64(p.Segment))
	binary.LittleEndian.PutUint64(b[8:], uint64(p.Offset))
	binary.LittleEndian.PutUint32(b[16:], crc32.Checksum(b[:16], castagnoli))
	return b
}

func decodeAck(b []byte) (Position, error) {
	if len(b) != 20 || crc32.Checksum(b[:16], castagnoli) != binary.LittleEndian.Uint32(b[16:]) {
		return Position{}, errors.New("corrupt acknowledged position")
	}
	return Position{Segment: int(binary.LittleEndian.Uint64(b[0:])), Offset: int64(binary.LittleEndian.Uint64(b[8:]))}, nil
}

// persistAck writes the acknowledged position through a renamed temporary
// file: a crash leaves the old position or the new, never a torn one. It is
// written after every acknowledgement, because a receiver such as
// Prometheus refuses a whole request holding samples it already has, so
// that resending less is better than resending more. Without durable the
// file is not fsynced: a power loss may resend a little more.
func (q *Queue) persistAck(durable bool) error {
	q.ackMtx.Lock()
	defer q.ackMtx.Unlock()
	q.mtx.Lock()
	pos := q.acked
	q.mtx.Unlock()
	if pos == q.ackPersisted && !durable {
		return nil
	}
	path := filepath.Join(q.dir, ackFileName)
	if durable {
		if err := fileutil.WriteFileAtomic(path, encodeAck(pos)); err != nil {
			return fmt.Errorf("write queue position: %w", err)
		}
	} else {
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, encodeAck(pos), 0o644); err != nil {
			return fmt.Errorf("write queue position: %w", err)
		}
		if err := os.Rename(tmp, path); err != nil {
			return fmt.Errorf("write queue position: %w", err)
		}
	}
	q.ackPersisted = pos
	return nil
}

// restoreAck reads the ack file at open and places the consumer there.
// A missing or corrupt file means nothing was acknowledged: every record
// is read again.
func (q *Queue) restoreAck() error {
	b, err := os.ReadFile(filepath.Join(q.dir, ackFileName))
	var pos Position
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return fmt.Errorf("read queue position: %w", err)
	default:
		if pos, err = decodeAck(b); err != nil {
			q.logger.Warn("Remote-write queue position is corrupt; resending the whole queue", "err", err)
		}
	}
	q.acked = q.clampLocked(pos)
	q.ackPersisted = q.acked
	for len(q.segs) > 1 && q.segs[0].num < q.acked.Segment {
		seg := q.segs[0]
		if err := os.Remove(segmentName(q.dir, seg.num)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove acknowledged queue segment %d: %w", seg.num, err)
		}
		q.segs = q.segs[1:]
		q.size -= seg.size
	}
	return q.rewindLocked()
}

// clampLocked moves p into the queue's valid range: into the oldest segment
// when it is older, to the end of its segment when a cut-off tail ended it
// earlier.
func (q *Queue) clampLocked(p Position) Position {
	for _, s := range q.segs {
		switch {
		case s.num < p.Segment:
			continue
		case s.num > p.Segment:
			return Position{Segment: s.num}
		}
		return Position{Segment: s.num, Offset: min(p.Offset, s.size)}
	}
	last := q.segs[len(q.segs)-1]
	return Position{Segment: last.num, Offset: last.size}
}

// Rewind moves the consumer back to the acknowledged position, so that a
// new consumer (a sender restarted with a new configuration) reads what the
// old one had not finished.
func (q *Queue) Rewind() error {
	q.mtx.Lock()
	defer q.mtx.Unlock()
	if q.closed {
		return ErrClosed
	}
	return q.rewindLocked()
}

func (q *Queue) rewindLocked() error {
	q.closeReaderLocked()
	q.rpos = q.acked
	for _, s := range q.segs {
		s.read = 0
		if s.num != q.acked.Segment || q.acked.Offset == 0 {
			continue
		}
		n, err := q.itemsBefore(s, q.acked.Offset)
		if err != nil {
			return err
		}
		s.read = n
	}
	return nil
}

// itemsBefore counts the items of the records of s before off.
func (q *Queue) itemsBefore(s *segment, off int64) (int, error) {
	f, err := os.Open(segmentName(q.dir, s.num))
	if err != nil {
		return 0, fmt.Errorf("open queue segment %d: %w", s.num, err)
	}
	defer f.Close()
	var items int
	for at := int64(0); at < off; {
		h, _, err := readFrame(f, at, s.size, false)
		if err != nil {
			return items, nil // the consumer's read reports it
		}
		items += int(h.items)
		at += headerSize + h.skipped
	}
	return items, nil
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

// SetLimits changes the bounds of a running queue (a reload); a smaller
// bound takes effect at once.
func (q *Queue) SetLimits(maxBytes int64, maxAge time.Duration) {
	q.mtx.Lock()
	defer q.mtx.Unlock()
	if maxBytes > 0 {
		q.opts.MaxBytes = maxBytes
	}
	q.opts.MaxAge = maxAge
	q.dropExpiredLocked()
	q.enforceSizeLocked()
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
