package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
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

// Reader walks the records of a series of segments in order.
type Reader struct {
	dir    string
	segs   []int
	i      int // index into segs of the segment in data
	data   []byte
	off    int
	rec    []byte
	recOff int
	err    error
}

// NewReader reads the segments of dir numbered from first on.
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

// Next advances to the next record. It returns false at the end or at the
// first invalid record (Err then says where).
func (r *Reader) Next() bool {
	if r.err != nil {
		return false
	}
	for r.data == nil || r.off >= len(r.data) {
		if r.i+1 >= len(r.segs) {
			return false
		}
		r.i++
		b, err := os.ReadFile(SegmentName(r.dir, r.segs[r.i]))
		if err != nil {
			r.err = fmt.Errorf("read WAL segment %d: %w", r.segs[r.i], err)
			return false
		}
		r.data, r.off = b, 0
	}
	rest := r.data[r.off:]
	if len(rest) < frameHeader {
		return r.corrupt(fmt.Errorf("torn record header (%d bytes)", len(rest)))
	}
	n := binary.LittleEndian.Uint32(rest)
	if n == 0 || n > MaxRecordSize {
		return r.corrupt(fmt.Errorf("invalid record length %d", n))
	}
	if int(n) > len(rest)-frameHeader {
		return r.corrupt(fmt.Errorf("torn record: %d of %d bytes", len(rest)-frameHeader, n))
	}
	rec := rest[frameHeader : frameHeader+int(n)]
	if crc32.Checksum(rec, castagnoli) != binary.LittleEndian.Uint32(rest[4:]) {
		return r.corrupt(errors.New("record checksum mismatch"))
	}
	r.rec, r.recOff = rec, r.off
	r.off += frameHeader + int(n)
	return true
}

func (r *Reader) corrupt(err error) bool {
	r.err = &CorruptionError{Segment: r.segs[r.i], Offset: int64(r.off), Err: err}
	return false
}

// Record is the current record; it is valid until the next segment is read.
func (r *Reader) Record() []byte { return r.rec }

// Offset is where the current record starts in its segment.
func (r *Reader) Offset() int64 { return int64(r.recOff) }

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
