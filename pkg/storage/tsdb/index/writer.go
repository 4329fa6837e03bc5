package index

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"os"
	"slices"

	"github.com/prometheus/prometheus/model/labels"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Writer writes a block index. The symbols are given up front; series are
// then added in label order, and Close writes the postings.
type Writer struct {
	f    *os.File
	bw   *bufio.Writer
	pos  uint64
	crc  hash.Hash32
	path string

	toc      [numSections]uint64
	secStart uint64 // where the open section's payload starts
	lengths  map[uint64]uint64

	symbols  map[string]uint32
	names    []string // symbol id -> string, for the postings table
	seriesAt []uint64
	postings map[uint64][]uint32 // name id<<32 | value id -> series ids
	last     labels.Labels
	buf, ent []byte
	keys     []uint64
	err      error
}

// NewWriter creates the index file at path with the given symbols (every
// label name and value the series will use, in any order, duplicates allowed).
func NewWriter(path string, symbols []string) (*Writer, error) {
	syms := slices.Clone(symbols)
	slices.Sort(syms)
	syms = slices.Compact(syms)
	if int64(len(syms)) > 1<<32-1 {
		return nil, fmt.Errorf("index of %d symbols", len(syms))
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create index: %w", err)
	}
	w := &Writer{
		f: f, bw: bufio.NewWriterSize(f, 1<<20), crc: crc32.New(castagnoli), path: path,
		lengths: map[uint64]uint64{}, symbols: make(map[string]uint32, len(syms)),
		names: syms, postings: map[uint64][]uint32{},
	}
	var h [headerLen]byte
	binary.BigEndian.PutUint32(h[:], indexMagic)
	h[4] = indexVersion
	w.raw(h[:])
	w.writeSymbols(syms)
	w.begin(secSeries)
	if w.err != nil {
		w.abort()
		return nil, w.err
	}
	return w, nil
}

// raw writes outside any section.
func (w *Writer) raw(b []byte) {
	if w.err != nil {
		return
	}
	_, w.err = w.bw.Write(b)
	w.pos += uint64(len(b))
}

func (w *Writer) write(b []byte) {
	w.crc.Write(b)
	w.raw(b)
}

func (w *Writer) begin(sec int) {
	w.toc[sec] = w.pos
	w.raw(make([]byte, 8)) // the length, patched in Close
	w.secStart = w.pos
	w.crc.Reset()
}

func (w *Writer) end() {
	w.lengths[w.secStart-8] = w.pos - w.secStart
	w.raw(binary.BigEndian.AppendUint32(nil, w.crc.Sum32()))
}

func (w *Writer) writeSymbols(syms []string) {
	w.begin(secSymbols)
	offs := make([]uint32, len(syms))
	w.write(binary.AppendUvarint(nil, uint64(len(syms))))
	for i, s := range syms {
		if w.pos-w.secStart > 1<<32-1 {
			w.err = errors.New("index symbols exceed 4 GiB")
			return
		}
		offs[i] = uint32(w.pos - w.secStart)
		w.symbols[s] = uint32(i)
		w.buf = binary.AppendUvarint(w.buf[:0], uint64(len(s)))
		w.buf = append(w.buf, s...)
		w.write(w.buf)
	}
	w.end()
	w.begin(secSymbolTable)
	for _, o := range offs {
		w.write(binary.BigEndian.AppendUint32(w.buf[:0], o))
	}
	w.end()
}

// AddSeries adds the next series, which must sort after the previous one,
// with its chunks in time order.
func (w *Writer) AddSeries(lset labels.Labels, chunks []ChunkMeta) error {
	if w.err != nil {
		return w.err
	}
	if len(w.seriesAt) > 0 && labels.Compare(lset, w.last) <= 0 {
		return fmt.Errorf("index: series %s added after %s", lset, w.last)
	}
	id := uint32(len(w.seriesAt))
	if uint64(len(w.seriesAt)) >= 1<<32-1 {
		return errors.New("index: too many series")
	}
	e := binary.AppendUvarint(w.ent[:0], uint64(lset.Len()))
	keys := w.keys[:0]
	var missing string
	lset.Range(func(l labels.Label) {
		n, ok1 := w.symbols[l.Name]
		v, ok2 := w.symbols[l.Value]
		if !ok1 || !ok2 {
			missing = l.Name + "=" + l.Value
			return
		}
		e = binary.AppendUvarint(e, uint64(n))
		e = binary.AppendUvarint(e, uint64(v))
		keys = append(keys, uint64(n)<<32|uint64(v))
	})
	w.keys = keys
	if missing != "" {
		return fmt.Errorf("index: label %s of series %s is not among the symbols", missing, lset)
	}
	e = binary.AppendUvarint(e, uint64(len(chunks)))
	for i, c := range chunks {
		if c.MaxT < c.MinT {
			return fmt.Errorf("index: chunk of series %s ends (%d) before it starts (%d)", lset, c.MaxT, c.MinT)
		}
		if i == 0 {
			e = binary.AppendVarint(e, c.MinT)
			e = binary.AppendUvarint(e, uint64(c.MaxT-c.MinT))
			e = binary.AppendUvarint(e, c.Ref)
			continue
		}
		p := chunks[i-1]
		e = binary.AppendVarint(e, c.MinT-p.MaxT)
		e = binary.AppendUvarint(e, uint64(c.MaxT-c.MinT))
		e = binary.AppendVarint(e, int64(c.Ref-p.Ref))
	}
	w.ent = e
	for _, k := range keys {
		w.postings[k] = append(w.postings[k], id)
	}
	w.seriesAt = append(w.seriesAt, w.pos-w.secStart)
	w.buf = binary.AppendUvarint(w.buf[:0], uint64(len(e)))
	w.write(w.buf)
	w.write(e)
	w.last = lset.Copy()
	return w.err
}

// Close writes the series table, the postings and the TOC, and fsyncs.
func (w *Writer) Close() error {
	w.end() // series
	w.begin(secSeriesTable)
	for _, o := range w.seriesAt {
		w.write(binary.BigEndian.AppendUint64(w.buf[:0], o))
	}
	w.end()
	w.writePostings()
	var toc []byte
	for _, o := range w.toc {
		toc = binary.BigEndian.AppendUint64(toc, o)
	}
	toc = binary.BigEndian.AppendUint32(toc, crc32.Checksum(toc, castagnoli))
	w.raw(toc)
	if w.err == nil {
		w.err = w.bw.Flush()
	}
	for at, n := range w.lengths {
		if w.err == nil {
			_, w.err = w.f.WriteAt(binary.BigEndian.AppendUint64(nil, n), int64(at))
		}
	}
	if w.err == nil {
		w.err = w.f.Sync()
	}
	if err := w.f.Close(); w.err == nil {
		w.err = err
	}
	if w.err != nil {
		os.Remove(w.path)
		return fmt.Errorf("write index %s: %w", w.path, w.err)
	}
	return nil
}

// writePostings writes every list, then the table that finds them. Keys
// sort as (name, value) because symbol ids sort as the strings.
func (w *Writer) writePostings() {
	keys := make([]uint64, 0, len(w.postings))
	for k := range w.postings {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	offs := make([]uint64, len(keys))
	w.begin(secPostings)
	for i, k := range keys {
		offs[i] = w.pos - w.secStart
		ids := w.postings[k]
		b := binary.AppendUvarint(w.buf[:0], uint64(len(ids)))
		prev := uint32(0)
		for j, id := range ids {
			if j == 0 {
				b = binary.AppendUvarint(b, uint64(id))
			} else {
				b = binary.AppendUvarint(b, uint64(id-prev))
			}
			prev = id
		}
		w.buf = b
		w.write(b)
	}
	w.end()
	w.begin(secPostingsTable)
	var nnames int
	for i, k := range keys {
		if i == 0 || k>>32 != keys[i-1]>>32 {
			nnames++
		}
	}
	w.write(binary.AppendUvarint(w.buf[:0], uint64(nnames)))
	for i := 0; i < len(keys); {
		name := keys[i] >> 32
		j := i
		for j < len(keys) && keys[j]>>32 == name {
			j++
		}
		b := appendStr(w.buf[:0], w.names[name])
		b = binary.AppendUvarint(b, uint64(j-i))
		for k := i; k < j; k++ {
			b = appendStr(b, w.names[uint32(keys[k])])
			b = binary.AppendUvarint(b, offs[k])
		}
		w.buf = b
		w.write(b)
		i = j
	}
	w.end()
	w.postings = nil
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// abort removes a partly written index.
func (w *Writer) abort() {
	w.f.Close()
	os.Remove(w.path)
}

// Abort gives up on the index and removes the file.
func (w *Writer) Abort() { w.abort() }
