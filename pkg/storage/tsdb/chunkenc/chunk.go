// Package chunkenc holds Graft's chunk encodings: compressed runs of samples
// of one series. Float chunks pick integer, scaled-decimal or XOR value coding
// per chunk, with delta-of-delta timestamps; histogram chunks keep native
// histograms intact with their bucket layout once per chunk.
package chunkenc

import (
	"encoding/binary"
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
	if e.HasST() && e.Base() != EncNone {
		return e.Base().String() + "+st"
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

// OpenChunk is a chunk being appended to. Readers beside the appends read
// a View of it.
type OpenChunk interface {
	Chunk
	View() RawChunk
}

// RawChunk is an immutable chunk: read back from disk, sealed in the head,
// or a view of an open chunk (see FloatChunk.View).
type RawChunk struct {
	Enc Encoding
	// view says Data is an open chunk's bytes, shared with its appender,
	// which changes the header's sample count and the last byte in place:
	// n and last are their values when the view was taken, and readers
	// never touch Data's copies of them.
	view bool
	last byte
	n    uint16
	Data []byte
	// lastV is a float view's last value, known without decoding.
	lastV float64
	// seeks are a float view's seek points (see float_seek.go).
	seeks *seekPoints
}

// view returns a view of open chunk bytes b (of at least one sample): the
// caller holds off appends while taking it.
func view(enc Encoding, b []byte) RawChunk {
	return RawChunk{Enc: enc, Data: b[:len(b):len(b)], view: true, n: binary.BigEndian.Uint16(b), last: b[len(b)-1]}
}

// IsView says the chunk is a view of an open chunk.
func (c RawChunk) IsView() bool { return c.view }

// Encoding implements Chunk.
func (c RawChunk) Encoding() Encoding { return c.Enc }

// Bytes implements Chunk. A view's bytes are copied, consistent as of the
// view (its shared bytes keep changing).
func (c RawChunk) Bytes() []byte {
	if !c.view {
		return c.Data
	}
	b := make([]byte, len(c.Data))
	binary.BigEndian.PutUint16(b, c.n)
	copy(b[2:], c.Data[2:len(c.Data)-1])
	b[len(b)-1] = c.last
	return b
}

// NumSamples implements Chunk.
func (c RawChunk) NumSamples() int {
	if c.view {
		return int(c.n)
	}
	if c.Enc.HasST() {
		values, _, _ := splitST(c.Data)
		return floatCount(values)
	}
	return floatCount(c.Data)
}

// Iterator implements Chunk.
func (c RawChunk) Iterator(it storage.Iterator) storage.Iterator {
	if c.view {
		return c.viewIterator(it)
	}
	return NewIterator(c.Enc, c.Data, it)
}

// viewIterator reads a view: the count and last byte from the view, the
// rest from the shared bytes, of which appends change nothing else.
func (c RawChunk) viewIterator(it storage.Iterator) storage.Iterator {
	switch c.Enc {
	case EncFloat:
		fi, ok := it.(*FloatIterator)
		if !ok {
			fi = &FloatIterator{}
		}
		fi.init(int(c.n), c.Data[2], c.body(floatHeader))
		fi.seeks = c.seeks
		return fi
	case EncHistogram, EncFloatHistogram:
		hi, ok := it.(*HistogramIterator)
		if !ok {
			hi = &HistogramIterator{}
		}
		hi.init(int(c.n), c.Data[2] == 1, c.body(histHeader))
		return hi
	}
	return &errIterator{err: fmt.Errorf("no open chunks of encoding %d", c.Enc)}
}

// IteratorAtLast returns an iterator positioned on the chunk's last
// sample, at time t (the chunk's newest), without decoding the samples
// before it: Next then ends the chunk. It reuses it if it is a
// *SampleIterator. It reports false for chunks whose last sample is not
// known so (anything but views of float chunks).
func (c RawChunk) IteratorAtLast(t int64, it storage.Iterator) (storage.Iterator, bool) {
	if !c.view || c.Enc != EncFloat {
		return it, false
	}
	si, ok := it.(*SampleIterator)
	if !ok {
		si = &SampleIterator{}
	}
	*si = SampleIterator{t: t, v: c.lastV}
	return si, true
}

// body is a view's reader past a header of hdr bytes.
func (c RawChunk) body(hdr int) breader {
	if len(c.Data) <= hdr {
		return breader{}
	}
	return breader{b: c.Data[hdr : len(c.Data)-1], tail: c.last, hasTail: true}
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
	if enc.HasST() {
		return newSTIterator(enc, b, it)
	}
	return &errIterator{err: fmt.Errorf("unknown chunk encoding %d", enc)}
}

// Validate checks that enc is an encoding this package reads.
func Validate(enc Encoding) error {
	if base := enc.Base(); base < EncFloat || base > EncAggr || (enc.HasST() && base == EncAggr) {
		return fmt.Errorf("unknown chunk encoding %d", enc)
	}
	return nil
}
