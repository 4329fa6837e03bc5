package chunks

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/graftlabs/graft/pkg/storage/tsdb/chunkenc"
)

func TestWriteReadAndDetectDamage(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "chunks")
	w, err := NewWriter(dir, 256) // tiny segments: several files
	if err != nil {
		t.Fatal(err)
	}
	var refs []Ref
	var want [][]byte
	for i := range 40 {
		data := bytes.Repeat([]byte{byte(i)}, 10+i)
		ref, err := w.Write(chunkenc.EncFloat, data)
		if err != nil {
			t.Fatal(err)
		}
		refs, want = append(refs, ref), append(want, data)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := NewReader(dir)
	if err != nil {
		t.Fatal(err)
	}
	if refs[len(refs)-1].Segment() < 3 {
		t.Fatalf("40 chunks fit in %d segments of 256 bytes", refs[len(refs)-1].Segment())
	}
	for i, ref := range refs {
		enc, data, err := r.Chunk(ref)
		if err != nil || enc != chunkenc.EncFloat || !bytes.Equal(data, want[i]) {
			t.Fatalf("chunk %d: %v %v %v", i, enc, data, err)
		}
	}
	if _, _, err := r.Chunk(NewRef(99, 8)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("missing segment: %v", err)
	}
	if _, _, err := r.Chunk(NewRef(1, 3)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("offset inside the header: %v", err)
	}
	r.Close()

	// Flip one byte of a chunk's data: its checksum no longer matches.
	seg := filepath.Join(dir, "000001")
	b, _ := os.ReadFile(seg)
	b[headerSize+3] ^= 1
	os.WriteFile(seg, b, 0o644)
	r, err = NewReader(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, _, err := r.Chunk(refs[0]); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("damaged chunk read back: %v", err)
	}
	if _, _, err := r.Chunk(refs[1]); err != nil {
		t.Fatalf("undamaged neighbour: %v", err)
	}
}
