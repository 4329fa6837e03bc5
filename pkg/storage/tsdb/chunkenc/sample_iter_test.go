package chunkenc

import (
	"testing"

	"github.com/graftlabs/graft/pkg/storage"
)

// A view's last sample is read into a reused SampleIterator without
// allocating; seeks at or before it stay on it, later ones end it.
func TestSampleIteratorAtLast(t *testing.T) {
	c := NewFloatChunk()
	c.Append(1000, 1)
	c.Append(2000, 2.5)
	v := c.View()
	var si SampleIterator
	if n := testing.AllocsPerRun(100, func() { v.IteratorAtLast(2000, &si) }); n != 0 {
		t.Errorf("IteratorAtLast with a SampleIterator to reuse: %v allocations", n)
	}
	it, ok := v.IteratorAtLast(2000, &si)
	if !ok || it != &si {
		t.Fatalf("got %T, %v: want the SampleIterator given", it, ok)
	}
	if vt := it.SeekTo(1500); vt != storage.ValFloat {
		t.Fatalf("seek before the sample: %v", vt)
	}
	if ts, x := it.At(); ts != 2000 || x != 2.5 {
		t.Fatalf("At: %d %v", ts, x)
	}
	if vt := it.SeekTo(2001); vt != storage.ValNone || it.SeekTo(0) != storage.ValNone {
		t.Fatalf("seek after the sample: %v, then before it: not ended", vt)
	}
	if _, ok := (RawChunk{Enc: EncFloat, Data: c.Bytes()}).IteratorAtLast(2000, nil); ok {
		t.Error("a sealed chunk claims to know its last sample")
	}
}
