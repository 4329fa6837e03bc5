package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"

	"github.com/graftlabs/graft/pkg/storage/tsdb/fileutil"
)

// CorruptionError says where the valid records of a WAL end.
type CorruptionError struct {
	Segment int
	Offset  int64
	Err     error
}

func (e *CorruptionError) Error() string {
	return fmt.Sprintf("WAL segment %d at offset %d: %v", e.Segment, e.Offset, e.Err)
}

func (e *CorruptionError) Unwrap() error { return e.Err }

// Reader walks the records of a series of segments in order. It reads each
// segment through one window that it reuses, so that replaying a WAL does
// not allocate (and fault in) a buffer the size of each segment, and the
// bytes it checks and decodes are still in cache.
type Reader struct {
	dir  string
	segs []int
	i    int // index into segs of the open segment
	f    *os.File
	eof  bool // f is read to its end
	// buf[start:end] are the bytes read and not yet consumed; buf[start]
	// is at offset pos of the segment.
	buf        []byte
	start, end int
	pos        int64
	rec        []byte
	recOff     int64
	err        error
}

// readWindow is the reader's usual window; a larger record grows it.
const readWindow = 1 << 20

// NewReader reads the segments of dir numbered from first on. Close it.
func NewReader(dir string, first int) (*Reader, error) {
	all, err := Segments(dir)
	if err != nil {
		return nil, err
	}
	r := &Reader{dir: dir, i: -1}
	for _, s := range all {
		if s >= first {
			r.segs = append(r.segs, s)
		}
	}
	for i := 1; i < len(r.segs); i++ {
		if r.segs[i] != r.segs[i-1]+1 {
			return nil, fmt.Errorf("WAL segments %d and %d are not consecutive", r.segs[i-1], r.segs[i])
		}
	}
	return r, nil
}

// Close closes the segment being read.
func (r *Reader) Close() error {
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	return err
}

// Next advances to the next record. It returns false at the end or at the
// first invalid record (Err then says where).
func (r *Reader) Next() bool {
	if r.err != nil {
		return false
	}
	if r.rec != nil {
		r.consume(frameHeader + len(r.rec))
		r.rec = nil
	}
	for !r.fill(1) {
		if r.err != nil || !r.nextSegment() {
			return false
		}
	}
	if !r.fill(frameHeader) {
		return r.corrupt(fmt.Errorf("torn record header (%d bytes)", r.end-r.start))
	}
	head := r.buf[r.start:r.end]
	n := binary.LittleEndian.Uint32(head)
	if n == 0 || n > MaxRecordSize {
		return r.corrupt(fmt.Errorf("invalid record length %d", n))
	}
	if !r.fill(frameHeader + int(n)) {
		return r.corrupt(fmt.Errorf("torn record: %d of %d bytes", r.end-r.start-frameHeader, n))
	}
	head = r.buf[r.start:r.end]
	rec := head[frameHeader : frameHeader+int(n)]
	if crc32.Checksum(rec, castagnoli) != binary.LittleEndian.Uint32(head[4:]) {
		return r.corrupt(errors.New("record checksum mismatch"))
	}
	r.rec, r.recOff = rec, r.pos
	return true
}

// nextSegment opens the next segment; false when none is left or on error.
func (r *Reader) nextSegment() bool {
	if err := r.Close(); err != nil {
		r.err = fmt.Errorf("close WAL segment %d: %w", r.segs[r.i], err)
		return false
	}
	if r.i+1 >= len(r.segs) {
		return false
	}
	r.i++
	f, err := os.Open(SegmentName(r.dir, r.segs[r.i]))
	if err != nil {
		r.err = fmt.Errorf("read WAL segment %d: %w", r.segs[r.i], err)
		return false
	}
	r.f, r.eof, r.start, r.end, r.pos = f, false, 0, 0, 0
	return true
}

// fill makes n bytes past start available, reading more of the segment;
// false if it ends first (or a read fails: Err says so).
func (r *Reader) fill(n int) bool {
	if r.end-r.start >= n {
		return true
	}
	if r.eof || r.f == nil {
		return false
	}
	if r.start+n > len(r.buf) {
		// Move the unconsumed bytes to the front, growing for a large record.
		buf := r.buf
		if n > len(buf) {
			buf = make([]byte, max(n, readWindow))
		}
		r.end = copy(buf, r.buf[r.start:r.end])
		r.buf, r.start = buf, 0
	}
	for r.end-r.start < n {
		m, err := r.f.Read(r.buf[r.end:])
		r.end += m
		if errors.Is(err, io.EOF) {
			r.eof = true
			return r.end-r.start >= n
		}
		if err != nil {
			r.err = fmt.Errorf("read WAL segment %d: %w", r.segs[r.i], err)
			return false
		}
	}
	return true
}

func (r *Reader) consume(n int) {
	r.start += n
	r.pos += int64(n)
}

func (r *Reader) corrupt(err error) bool {
	r.err = &CorruptionError{Segment: r.segs[r.i], Offset: r.pos, Err: err}
	return false
}

// Record is the current record; it is valid until the next call to Next.
func (r *Reader) Record() []byte { return r.rec }

// Offset is where the current record starts in its segment.
func (r *Reader) Offset() int64 { return r.recOff }

// Segment is the number of the segment of the current record.
func (r *Reader) Segment() int {
	if r.i < 0 {
		return -1
	}
	return r.segs[r.i]
}

// Err is the error that stopped Next, if any.
func (r *Reader) Err() error { return r.err }

// Repair cuts the WAL back to the valid prefix that c describes: the corrupt
// segment is truncated at the bad record and every later segment removed.
func Repair(dir string, c *CorruptionError) error {
	segs, err := Segments(dir)
	if err != nil {
		return err
	}
	for _, s := range segs {
		if s > c.Segment {
			if err := os.Remove(SegmentName(dir, s)); err != nil {
				return fmt.Errorf("remove WAL segment %d after corruption: %w", s, err)
			}
		}
	}
	f, err := os.OpenFile(SegmentName(dir, c.Segment), os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("open corrupt WAL segment: %w", err)
	}
	defer f.Close()
	if err := f.Truncate(c.Offset); err != nil {
		return fmt.Errorf("truncate corrupt WAL segment %d: %w", c.Segment, err)
	}
	if err := f.Sync(); err != nil {
		return err
	}
	return fileutil.SyncDir(dir)
}
