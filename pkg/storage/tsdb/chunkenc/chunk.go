// Package chunkenc holds Graft's chunk encodings: compressed runs of samples
// of one series. Float chunks pick integer, scaled-decimal or XOR value coding
// per chunk, with delta-of-delta timestamps; histogram chunks keep native
// histograms intact with their bucket layout once per chunk.
package chunkenc

import (
	"fmt"

	"github.com/graftlabs/graft/pkg/storage"
)

// Encoding identifies a chunk format on disk and in the WAL snapshot.
type Encoding uint8

// The chunk encodings.
const (
	EncNone Encoding = iota
	EncFloat
	EncHistogram
	EncFloatHistogram
	// EncAggr holds downsampled aggregates (see aggr.go).
	EncAggr
)

func (e Encoding) String() string {
	switch e {
	case EncFloat:
		return "float"
	case EncHistogram:
		return "histogram"
	case EncFloatHistogram:
		return "floathistogram"
	case EncAggr:
		return "aggregate"
	}
	return fmt.Sprintf("encoding(%d)", uint8(e))
}

// Chunk is a run of samples of one series.
type Chunk interface {
	Encoding() Encoding
	Bytes() []byte
	NumSamples() int
	// Iterator returns an iterator over the samples, reusing it if possible.
	Iterator(it storage.Iterator) storage.Iterator
}

// RawChunk is an immutable chunk read back from disk.
type RawChunk struct {
	Enc  Encoding
	Data []byte
}

// Encoding implements Chunk.
func (c RawChunk) Encoding() Encoding { return c.Enc }

// Bytes implements Chunk.
func (c RawChunk) Bytes() []byte { return c.Data }

// NumSamples implements Chunk.
func (c RawChunk) NumSamples() int { return floatCount(c.Data) }

// Iterator implements Chunk.
func (c RawChunk) Iterator(it storage.Iterator) storage.Iterator {
	return NewIterator(c.Enc, c.Data, it)
}

// NewIterator decodes chunk bytes of any encoding.
func NewIterator(enc Encoding, b []byte, it storage.Iterator) storage.Iterator {
	switch enc {
	case EncFloat:
		return NewFloatIterator(b, it)
	case EncHistogram, EncFloatHistogram:
		return NewHistogramIterator(b, it)
	case EncAggr:
		return NewAggrIterator(b, AggrAvg, it)
	}
	return &errIterator{err: fmt.Errorf("unknown chunk encoding %d", enc)}
}

// Validate checks that enc is an encoding this package reads.
func Validate(enc Encoding) error {
	if enc < EncFloat || enc > EncAggr {
		return fmt.Errorf("unknown chunk encoding %d", enc)
	}
	return nil
}
