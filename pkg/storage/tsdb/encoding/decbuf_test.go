package encoding

import (
	"encoding/binary"
	"errors"
	"math"
	"testing"
)

var errShort = errors.New("short")

func TestDecbufReadsWhatWasWritten(t *testing.T) {
	var b []byte
	b = binary.AppendUvarint(b, 300)
	b = binary.AppendVarint(b, -5)
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(2.5))
	b = append(b, 7)
	b = binary.AppendUvarint(b, 3)
	b = append(b, "abc"...)
	b = binary.AppendUvarint(b, 2)
	b = append(b, 1, 2)
	d := New(b, errShort)
	if u, v, f, c, s := d.Uvarint(), d.Varint(), d.F64(), d.Byte(), string(d.UvarintBytes()); u != 300 || v != -5 || f != 2.5 || c != 7 || s != "abc" {
		t.Fatalf("read %d %d %v %d %q", u, v, f, c, s)
	}
	if n := d.Count(1); n != 2 || d.Err() != nil || len(d.B) != 2 {
		t.Fatalf("count %d, err %v, %d bytes left", n, d.Err(), len(d.B))
	}
}

func TestDecbufKeepsTheFirstError(t *testing.T) {
	d := New([]byte{0x80}, errShort) // a varint cut short
	if d.Uvarint() != 0 || !errors.Is(d.Err(), errShort) || len(d.B) != 0 {
		t.Fatalf("err %v, %d bytes left", d.Err(), len(d.B))
	}
	d.Fail(errors.New("later"))
	if d.U64() != 0 || d.Byte() != 0 || d.Bytes(1) != nil || !errors.Is(d.Err(), errShort) {
		t.Fatalf("after the first error: %v", d.Err())
	}
	big := New(binary.AppendUvarint(nil, 1000), errShort)
	if n := big.Count(1); n != 0 || !errors.Is(big.Err(), errShort) {
		t.Fatalf("a count larger than the input: %d, %v", n, big.Err())
	}
}
