// Package chunks stores the chunks of a block in numbered segment files
// (chunks/000001, ...). Each chunk carries its encoding and a CRC-32C, so
// that a damaged chunk is detected when it is read rather than decoded into
// wrong samples. A chunk is named by a Ref: its segment and offset.
package chunks

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/graftlabs/graft/pkg/storage/tsdb/chunkenc"
	"github.com/graftlabs/graft/pkg/storage/tsdb/fileutil"
)

// Segment layout: magic uint32 | version byte | 3 bytes of padding, then
// chunks: encoding byte | data length uvarint | data | CRC-32C of encoding
// and data, uint32 big-endian.
const (
	magic      = 0x47524348 // "GRCH"
	version    = 1
	headerSize = 8
	// DefaultSegmentSize is where a writer starts the next segment.
	DefaultSegmentSize = 512 << 20
	// MaxChunkSize bounds one chunk's data, so that a corrupt length is
	// refused rather than believed.
	MaxChunkSize = 16 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Ref names a chunk: segment number in the high 32 bits, byte offset in the
// low 32.
type Ref uint64

// NewRef builds a Ref.
func NewRef(seg, off uint32) Ref { return Ref(uint64(seg)<<32 | uint64(off)) }

// Segment is the segment number of the chunk.
func (r Ref) Segment() uint32 { return uint32(r >> 32) }

// Offset is the chunk's byte offset in its segment.
func (r Ref) Offset() uint32 { return uint32(r) }

// ErrCorrupt marks a chunk or segment that fails its checks.
var ErrCorrupt = errors.New("corrupt chunk")

func segmentName(dir string, n uint32) string {
	return filepath.Join(dir, fmt.Sprintf("%06d", n))
}

// Writer appends chunks to new segments in a directory.
type Writer struct {
	dir     string
	segSize int64
	seq     uint32
	f       *os.File
	bw      *bufio.Writer
	off     int64
	size    int64 // bytes of every segment written
	scratch []byte
}

// NewWriter creates dir and writes segments into it; segSize <= 0 means
// DefaultSegmentSize.
func NewWriter(dir string, segSize int64) (*Writer, error) {
	if segSize <= 0 {
		segSize = DefaultSegmentSize
	}
	if segSize > 1<<32-1 {
		return nil, fmt.Errorf("chunk segment size %d exceeds 4 GiB", segSize)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create chunks directory: %w", err)
	}
	return &Writer{dir: dir, segSize: segSize}, nil
}

// Write appends one chunk and returns its Ref.
func (w *Writer) Write(enc chunkenc.Encoding, data []byte) (Ref, error) {
	if len(data) > MaxChunkSize {
		return 0, fmt.Errorf("chunk of %d bytes exceeds %d", len(data), MaxChunkSize)
	}
	w.scratch = append(w.scratch[:0], byte(enc))
	w.scratch = binary.AppendUvarint(w.scratch, uint64(len(data)))
	need := int64(len(w.scratch) + len(data) + 4)
	if w.f == nil || w.off+need > w.segSize {
		if err := w.cut(); err != nil {
			return 0, err
		}
	}
	ref := NewRef(w.seq, uint32(w.off))
	crc := crc32.Update(crc32.Checksum(w.scratch[:1], castagnoli), castagnoli, data)
	w.bw.Write(w.scratch)
	w.bw.Write(data)
	var c [4]byte
	binary.BigEndian.PutUint32(c[:], crc)
	if _, err := w.bw.Write(c[:]); err != nil {
		return 0, fmt.Errorf("write chunk segment %d: %w", w.seq, err)
	}
	w.off += need
	w.size += need
	return ref, nil
}

func (w *Writer) cut() error {
	if err := w.finishSegment(); err != nil {
		return err
	}
	w.seq++
	f, err := os.OpenFile(segmentName(w.dir, w.seq), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("create chunk segment: %w", err)
	}
	w.f = f
	if w.bw == nil {
		w.bw = bufio.NewWriterSize(f, 1<<20)
	} else {
		w.bw.Reset(f)
	}
	var h [headerSize]byte
	binary.BigEndian.PutUint32(h[:], magic)
	h[4] = version
	if _, err := w.bw.Write(h[:]); err != nil {
		return err
	}
	w.off = headerSize
	w.size += headerSize
	return nil
}

// finishSegment flushes, fsyncs and closes the current segment.
func (w *Writer) finishSegment() error {
	if w.f == nil {
		return nil
	}
	f := w.f
	w.f = nil
	if err := w.bw.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("write chunk segment %d: %w", w.seq, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("fsync chunk segment %d: %w", w.seq, err)
	}
	return f.Close()
}

// Size is the number of bytes written so far.
func (w *Writer) Size() int64 { return w.size }

// Close finishes the last segment and makes the directory durable.
func (w *Writer) Close() error {
	if err := w.finishSegment(); err != nil {
		return err
	}
	return fileutil.SyncDir(w.dir)
}

// Reader reads the chunks of a directory's segments, memory-mapped.
type Reader struct {
	segs  map[uint32]*fileutil.MappedFile
	bytes map[uint32][]byte
	size  int64
}

// NewReader maps every segment of dir and checks their headers.
func NewReader(dir string) (*Reader, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list chunk segments: %w", err)
	}
	r := &Reader{segs: map[uint32]*fileutil.MappedFile{}, bytes: map[uint32][]byte{}}
	var nums []uint32
	for _, e := range entries {
		n, err := strconv.ParseUint(e.Name(), 10, 32)
		if err != nil || len(e.Name()) != 6 {
			continue
		}
		nums = append(nums, uint32(n))
	}
	slices.Sort(nums)
	for _, n := range nums {
		m, err := fileutil.OpenMapped(segmentName(dir, n))
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("open chunk segment %d: %w", n, err)
		}
		r.segs[n] = m
		b := m.Bytes()
		if len(b) < headerSize || binary.BigEndian.Uint32(b) != magic || b[4] != version {
			r.Close()
			return nil, fmt.Errorf("chunk segment %d: bad header: %w", n, ErrCorrupt)
		}
		r.bytes[n] = b
		r.size += int64(len(b))
	}
	return r, nil
}

// Size is the total size of the segments.
func (r *Reader) Size() int64 { return r.size }

// Chunk returns the chunk at ref after checking its CRC. The data points
// into the mapping: it is valid until Close.
func (r *Reader) Chunk(ref Ref) (chunkenc.Encoding, []byte, error) {
	b, ok := r.bytes[ref.Segment()]
	if !ok {
		return 0, nil, fmt.Errorf("chunk %d/%d: no segment %d: %w", ref.Segment(), ref.Offset(), ref.Segment(), ErrCorrupt)
	}
	return Decode(b, int(ref.Offset()))
}

// Decode reads the chunk at off of segment bytes b.
func Decode(b []byte, off int) (chunkenc.Encoding, []byte, error) {
	if off < headerSize || off >= len(b) {
		return 0, nil, fmt.Errorf("chunk at offset %d of a %d-byte segment: %w", off, len(b), ErrCorrupt)
	}
	enc := chunkenc.Encoding(b[off])
	n, k := binary.Uvarint(b[off+1:])
	if k <= 0 || n > MaxChunkSize {
		return 0, nil, fmt.Errorf("chunk at offset %d: bad length: %w", off, ErrCorrupt)
	}
	start := off + 1 + k
	end := start + int(n)
	if end+4 > len(b) || end < start {
		return 0, nil, fmt.Errorf("chunk at offset %d runs past the segment end: %w", off, ErrCorrupt)
	}
	data := b[start:end]
	crc := crc32.Update(crc32.Checksum(b[off:off+1], castagnoli), castagnoli, data)
	if crc != binary.BigEndian.Uint32(b[end:]) {
		return 0, nil, fmt.Errorf("chunk at offset %d: checksum mismatch: %w", off, ErrCorrupt)
	}
	if err := chunkenc.Validate(enc); err != nil {
		return 0, nil, fmt.Errorf("chunk at offset %d: %w: %w", off, err, ErrCorrupt)
	}
	return enc, data, nil
}

// Close unmaps the segments.
func (r *Reader) Close() error {
	var errs []error
	for _, m := range r.segs {
		errs = append(errs, m.Close())
	}
	r.segs, r.bytes = nil, nil
	return errors.Join(errs...)
}
