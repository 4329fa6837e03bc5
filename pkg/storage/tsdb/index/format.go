package index

import (
	"errors"
)

// A block index file is laid out as:
//
//	header:  magic uint32 "GIDX" | version byte
//	sections, each: payload length uint64 | payload | CRC-32C of payload uint32
//	  symbols        count uvarint | count x (length uvarint | bytes), sorted
//	  symbol table   count x uint32: offset of each symbol in the symbols payload
//	  series         per series, in label order (its id is its position):
//	                 length uvarint | labels count uvarint | (name, value) symbol
//	                 ids uvarint | chunks count uvarint | chunk metas (below)
//	  series table   count x uint64: offset of each series in the series payload
//	  postings       per label pair: count uvarint | first id uvarint | deltas uvarint
//	  postings table names count uvarint | per name (sorted): name | values
//	                 count uvarint | per value (sorted): value | postings offset uvarint
//	TOC:     the six section offsets uint64 | CRC-32C of them uint32
//
// Chunk metas: the first is minT varint | maxT-minT uvarint | ref uvarint;
// each next one minT-prevMaxT varint | maxT-minT uvarint | ref-prevRef varint.
// Integers are big-endian. Symbols are sorted, so symbol ids compare as the
// strings do; series ids are in label order, so postings (sorted ids) list
// series in label order.
const (
	indexMagic   = 0x47494458 // "GIDX"
	indexVersion = 1
	headerLen    = 5
	numSections  = 6
	tocLen       = numSections*8 + 4
	// sampleEvery is the spacing of the postings table entries the reader
	// keeps in memory; lookups scan at most this many entries on disk.
	sampleEvery = 32
)

const (
	secSymbols = iota
	secSymbolTable
	secSeries
	secSeriesTable
	secPostings
	secPostingsTable
)

// ErrCorrupt marks an index that fails its checks.
var ErrCorrupt = errors.New("corrupt index")

// ChunkMeta locates one chunk of a series in a block.
type ChunkMeta struct {
	MinT, MaxT int64
	Ref        uint64
}
