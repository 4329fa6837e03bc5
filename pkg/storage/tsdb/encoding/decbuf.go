// Package encoding decodes the integers, floats and byte strings that the
// TSDB's formats (WAL records, checkpoints, the block index) are built of.
package encoding

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Decbuf reads from a byte slice. A read past the end or of a malformed
// varint records the format's error (the first one stays) and empties the
// buffer, so that later reads return zero values and callers check Err
// once after a run of reads instead of after each one.
type Decbuf struct {
	// B is what is left to read.
	B     []byte
	err   error
	short error
}

// New reads b; short is the error a truncated or malformed b reports
// (each format has its own, ErrCorrupt or ErrTruncated say).
func New(b []byte, short error) Decbuf { return Decbuf{B: b, short: short} }

// Err is the first error met, nil if none.
func (d *Decbuf) Err() error { return d.err }

// Fail records err unless an error was met before, and empties the buffer.
func (d *Decbuf) Fail(err error) {
	if d.err == nil {
		d.err = err
	}
	d.B = nil
}

// Uvarint reads an unsigned varint.
func (d *Decbuf) Uvarint() uint64 {
	v, n := binary.Uvarint(d.B)
	if n <= 0 {
		d.Fail(d.short)
		return 0
	}
	d.B = d.B[n:]
	return v
}

// Varint reads a signed (zig-zag) varint.
func (d *Decbuf) Varint() int64 {
	v, n := binary.Varint(d.B)
	if n <= 0 {
		d.Fail(d.short)
		return 0
	}
	d.B = d.B[n:]
	return v
}

// U64 reads a little-endian uint64.
func (d *Decbuf) U64() uint64 {
	if len(d.B) < 8 {
		d.Fail(d.short)
		return 0
	}
	v := binary.LittleEndian.Uint64(d.B)
	d.B = d.B[8:]
	return v
}

// F64 reads a float64 stored as its little-endian bits.
func (d *Decbuf) F64() float64 { return math.Float64frombits(d.U64()) }

// Byte reads one byte.
func (d *Decbuf) Byte() byte {
	if len(d.B) < 1 {
		d.Fail(d.short)
		return 0
	}
	v := d.B[0]
	d.B = d.B[1:]
	return v
}

// Bytes reads n bytes; the result shares the buffer's memory.
func (d *Decbuf) Bytes(n uint64) []byte {
	if n > uint64(len(d.B)) {
		d.Fail(d.short)
		return nil
	}
	v := d.B[:n:n]
	d.B = d.B[n:]
	return v
}

// UvarintBytes reads a byte string prefixed by its length.
func (d *Decbuf) UvarintBytes() []byte { return d.Bytes(d.Uvarint()) }

// Count reads a count of items each taking at least min bytes, refusing a
// count the bytes left cannot hold: corrupt input cannot make a reader
// allocate without bound.
func (d *Decbuf) Count(min int) int {
	n := d.Uvarint()
	if d.err == nil && n > uint64(len(d.B)/max(min, 1)) {
		d.Fail(fmt.Errorf("%w: count %d exceeds the %d bytes left", d.short, n, len(d.B)))
		return 0
	}
	return int(n)
}
