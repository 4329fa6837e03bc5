package index

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"slices"
	"sort"
	"strings"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/storage/tsdb/encoding"
	"github.com/graftlabs/graft/pkg/storage/tsdb/fileutil"
)

// BlockReader reads a block index from bytes (usually a memory mapping).
// Opening it verifies every section's checksum, so a damaged index is
// refused before it serves; afterwards reads decode from the bytes, keeping
// in memory only the label names and every 32nd value of each.
type BlockReader struct {
	mapped *fileutil.MappedFile
	sec    [numSections][]byte // payloads

	nsymbols int
	nseries  int
	names    []string
	byName   map[string]*nameTable
}

// nameTable finds the values of one label name in the postings table.
type nameTable struct {
	n       int    // values
	entries []byte // the value entries in the postings table
	samples []valueSample
}

type valueSample struct {
	value string
	off   int // offset of the entry in entries
}

// OpenBlockReader maps the index file at path and checks it.
func OpenBlockReader(path string) (*BlockReader, error) {
	m, err := fileutil.OpenMapped(path)
	if err != nil {
		return nil, fmt.Errorf("open index: %w", err)
	}
	r, err := NewBlockReader(m.Bytes())
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("index %s: %w", path, err)
	}
	r.mapped = m
	return r, nil
}

// NewBlockReader reads an index from b, which must stay valid and
// unchanged while the reader is used.
func NewBlockReader(b []byte) (*BlockReader, error) {
	if len(b) < headerLen+tocLen || binary.BigEndian.Uint32(b) != indexMagic {
		return nil, fmt.Errorf("bad header: %w", ErrCorrupt)
	}
	if b[4] != indexVersion {
		return nil, fmt.Errorf("unknown index version %d: %w", b[4], ErrCorrupt)
	}
	toc := b[len(b)-tocLen:]
	if crc32.Checksum(toc[:numSections*8], castagnoli) != binary.BigEndian.Uint32(toc[numSections*8:]) {
		return nil, fmt.Errorf("table of contents checksum mismatch: %w", ErrCorrupt)
	}
	r := &BlockReader{byName: map[string]*nameTable{}}
	end := uint64(len(b) - tocLen)
	for i := range numSections {
		p, err := section(b, binary.BigEndian.Uint64(toc[i*8:]), end)
		if err != nil {
			return nil, fmt.Errorf("section %d: %w", i, err)
		}
		r.sec[i] = p
	}
	if err := r.readSymbols(); err != nil {
		return nil, err
	}
	if len(r.sec[secSeriesTable])%8 != 0 {
		return nil, fmt.Errorf("series table of %d bytes: %w", len(r.sec[secSeriesTable]), ErrCorrupt)
	}
	r.nseries = len(r.sec[secSeriesTable]) / 8
	if err := r.readPostingsTable(); err != nil {
		return nil, err
	}
	return r, nil
}

// section returns the payload of the section at off after checking it.
func section(b []byte, off, end uint64) ([]byte, error) {
	if off < headerLen || off > end || end-off < 12 {
		return nil, fmt.Errorf("offset %d out of range: %w", off, ErrCorrupt)
	}
	n := binary.BigEndian.Uint64(b[off:])
	if n > end-off-12 {
		return nil, fmt.Errorf("length %d out of range: %w", n, ErrCorrupt)
	}
	p := b[off+8 : off+8+n]
	if crc32.Checksum(p, castagnoli) != binary.BigEndian.Uint32(b[off+8+n:]) {
		return nil, fmt.Errorf("checksum mismatch: %w", ErrCorrupt)
	}
	return p, nil
}

func (r *BlockReader) readSymbols() error {
	d := encoding.New(r.sec[secSymbols], ErrCorrupt)
	r.nsymbols = d.Count(1)
	if d.Err() != nil || len(r.sec[secSymbolTable]) != 4*r.nsymbols {
		return fmt.Errorf("symbol table does not match %d symbols: %w", r.nsymbols, ErrCorrupt)
	}
	return nil
}

// symbol returns symbol id as bytes of the mapping.
func (r *BlockReader) symbol(id uint64) ([]byte, error) {
	if id >= uint64(r.nsymbols) {
		return nil, fmt.Errorf("symbol %d of %d: %w", id, r.nsymbols, ErrCorrupt)
	}
	off := binary.BigEndian.Uint32(r.sec[secSymbolTable][id*4:])
	syms := r.sec[secSymbols]
	if uint64(off) >= uint64(len(syms)) {
		return nil, fmt.Errorf("symbol %d at offset %d: %w", id, off, ErrCorrupt)
	}
	d := encoding.New(syms[off:], ErrCorrupt)
	s := d.UvarintBytes()
	if d.Err() != nil {
		return nil, fmt.Errorf("symbol %d: %w", id, d.Err())
	}
	return s, nil
}

// Symbols calls f with every symbol, in order.
func (r *BlockReader) Symbols(f func(string) error) error {
	d := encoding.New(r.sec[secSymbols], ErrCorrupt)
	n := d.Count(1)
	for range n {
		s := d.UvarintBytes()
		if d.Err() != nil {
			return fmt.Errorf("symbols: %w", d.Err())
		}
		if err := f(string(s)); err != nil {
			return err
		}
	}
	return d.Err()
}

func (r *BlockReader) readPostingsTable() error {
	d := encoding.New(r.sec[secPostingsTable], ErrCorrupt)
	n := d.Count(2)
	prevName := ""
	for i := range n {
		name := string(d.UvarintBytes())
		nv := d.Count(2)
		if d.Err() != nil {
			return fmt.Errorf("postings table: %w", d.Err())
		}
		if i > 0 && name <= prevName {
			return fmt.Errorf("postings table: names out of order: %w", ErrCorrupt)
		}
		prevName = name
		t := &nameTable{n: nv, entries: d.B}
		start := len(d.B)
		var prev []byte
		for j := range nv {
			off := start - len(d.B)
			v := d.UvarintBytes()
			po := d.Uvarint()
			if d.Err() != nil {
				return fmt.Errorf("postings table of %q: %w", name, d.Err())
			}
			if j > 0 && string(v) <= string(prev) {
				return fmt.Errorf("postings table of %q: values out of order: %w", name, ErrCorrupt)
			}
			if po >= uint64(len(r.sec[secPostings])) {
				return fmt.Errorf("postings of %s=%q at %d: %w", name, v, po, ErrCorrupt)
			}
			prev = v
			if j%sampleEvery == 0 {
				t.samples = append(t.samples, valueSample{value: string(v), off: off})
			}
		}
		t.entries = t.entries[:start-len(d.B)]
		r.names = append(r.names, name)
		r.byName[name] = t
	}
	if d.Err() != nil {
		return fmt.Errorf("postings table: %w", d.Err())
	}
	return nil
}

// NumSeries is the number of series; their ids are 0 to NumSeries-1.
func (r *BlockReader) NumSeries() int { return r.nseries }

// NumSymbols is the number of symbols.
func (r *BlockReader) NumSymbols() int { return r.nsymbols }

// LabelNames returns the label names, sorted.
func (r *BlockReader) LabelNames() []string { return slices.Clone(r.names) }

// LabelValues implements Reader.
func (r *BlockReader) LabelValues(name string) ([]string, error) {
	t := r.byName[name]
	if t == nil {
		return nil, nil
	}
	out := make([]string, 0, t.n)
	d := encoding.New(t.entries, ErrCorrupt)
	for range t.n {
		out = append(out, string(d.UvarintBytes()))
		d.Uvarint()
	}
	return out, d.Err()
}

// postingsOffset finds the postings of name=value; ok is false if absent.
func (t *nameTable) postingsOffset(value string) (uint64, bool, error) {
	i := sort.Search(len(t.samples), func(i int) bool { return t.samples[i].value > value }) - 1
	if i < 0 {
		return 0, false, nil
	}
	d := encoding.New(t.entries[t.samples[i].off:], ErrCorrupt)
	for range sampleEvery {
		if len(d.B) == 0 {
			break
		}
		v := d.UvarintBytes()
		off := d.Uvarint()
		if d.Err() != nil {
			return 0, false, d.Err()
		}
		switch c := strings.Compare(yoloString(v), value); {
		case c == 0:
			return off, true, nil
		case c > 0:
			return 0, false, nil
		}
	}
	return 0, false, nil
}

// Postings implements Reader.
func (r *BlockReader) Postings(name string, values ...string) ([]uint64, error) {
	t := r.byName[name]
	if t == nil {
		return nil, nil
	}
	lists := make([][]uint64, 0, len(values))
	for _, v := range values {
		off, ok, err := t.postingsOffset(v)
		if err != nil {
			return nil, fmt.Errorf("postings of %s=%q: %w", name, v, err)
		}
		if !ok {
			continue
		}
		l, err := r.decodePostings(off)
		if err != nil {
			return nil, fmt.Errorf("postings of %s=%q: %w", name, v, err)
		}
		lists = append(lists, l)
	}
	return Merge(lists...), nil
}

func (r *BlockReader) decodePostings(off uint64) ([]uint64, error) {
	d := encoding.New(r.sec[secPostings][off:], ErrCorrupt)
	n := d.Count(1)
	out := make([]uint64, 0, n)
	var id uint64
	for i := range n {
		x := d.Uvarint()
		if x >= uint64(r.nseries) {
			return nil, fmt.Errorf("posting delta %d of %d series: %w", x, r.nseries, ErrCorrupt)
		}
		if i > 0 && x == 0 {
			return nil, fmt.Errorf("postings not ascending: %w", ErrCorrupt)
		}
		id += x
		if id >= uint64(r.nseries) {
			return nil, fmt.Errorf("posting %d of %d series: %w", id, r.nseries, ErrCorrupt)
		}
		out = append(out, id)
	}
	return out, d.Err()
}

// AllPostings implements Reader.
func (r *BlockReader) AllPostings() ([]uint64, error) {
	out := make([]uint64, r.nseries)
	for i := range out {
		out[i] = uint64(i)
	}
	return out, nil
}

// Series decodes series id: its labels (built with sb, copied out of the
// mapping) and its chunk metas, appended to chks.
func (r *BlockReader) Series(id uint64, sb *labels.ScratchBuilder, chks []ChunkMeta) (labels.Labels, []ChunkMeta, error) {
	if id >= uint64(r.nseries) {
		return labels.EmptyLabels(), chks, fmt.Errorf("series %d of %d: %w", id, r.nseries, ErrCorrupt)
	}
	off := binary.BigEndian.Uint64(r.sec[secSeriesTable][id*8:])
	if off >= uint64(len(r.sec[secSeries])) {
		return labels.EmptyLabels(), chks, fmt.Errorf("series %d at offset %d: %w", id, off, ErrCorrupt)
	}
	outer := encoding.New(r.sec[secSeries][off:], ErrCorrupt)
	d := encoding.New(outer.UvarintBytes(), ErrCorrupt)
	if err := outer.Err(); err != nil {
		d.Fail(err)
	}
	sb.Reset()
	nl := d.Count(2)
	for range nl {
		n, v := d.Uvarint(), d.Uvarint()
		if d.Err() != nil {
			break
		}
		name, err := r.symbol(n)
		if err != nil {
			return labels.EmptyLabels(), chks, fmt.Errorf("series %d: %w", id, err)
		}
		value, err := r.symbol(v)
		if err != nil {
			return labels.EmptyLabels(), chks, fmt.Errorf("series %d: %w", id, err)
		}
		sb.Add(yoloString(name), yoloString(value))
	}
	nc := d.Count(3)
	var prev ChunkMeta
	for i := range nc {
		var c ChunkMeta
		if i == 0 {
			c.MinT = d.Varint()
			c.MaxT = c.MinT + int64(d.Uvarint())
			c.Ref = d.Uvarint()
		} else {
			c.MinT = prev.MaxT + d.Varint()
			c.MaxT = c.MinT + int64(d.Uvarint())
			c.Ref = prev.Ref + uint64(d.Varint())
		}
		if c.MaxT < c.MinT {
			d.Fail(ErrCorrupt)
		}
		if d.Err() != nil {
			break
		}
		chks = append(chks, c)
		prev = c
	}
	if d.Err() != nil {
		return labels.EmptyLabels(), chks, fmt.Errorf("series %d: %w", id, d.Err())
	}
	return sb.Labels(), chks, nil
}

// Close releases the mapping; nothing read from the reader may be used
// afterwards except what it copied (labels, label names and values).
func (r *BlockReader) Close() error {
	if r.mapped == nil {
		return nil
	}
	err := r.mapped.Close()
	r.mapped = nil
	return err
}

// Size is the index's size in bytes.
func (r *BlockReader) Size() int64 {
	if r.mapped == nil {
		return 0
	}
	return int64(len(r.mapped.Bytes()))
}
