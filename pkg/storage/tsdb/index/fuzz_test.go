package index

import (
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
)

// FuzzBlockReader feeds arbitrary bytes to the block index reader: opening
// and reading everything must fail cleanly or succeed, never panic or
// allocate without bound. The seed corpus (testdata/fuzz/FuzzBlockReader)
// holds real indexes and damaged ones.
func FuzzBlockReader(f *testing.F) {
	dir := f.TempDir()
	for i, n := range []int{0, 1, 5, 40} {
		path := filepath.Join(dir, "index"+string(rune('a'+i)))
		writeTestIndex(f, path, testIndexSeries(n))
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, err := NewBlockReader(b); err == nil {
			readEverything(r)
		}
		// Checksums stop nearly every mutation at the door: fix them up so
		// that the fuzzer reaches the decoding of the sections too.
		if r, err := NewBlockReader(fixChecksums(b)); err == nil {
			readEverything(r)
		}
	})
}

// fixChecksums returns b with every section's CRC and the TOC's CRC
// recomputed, where the TOC's offsets and the lengths point inside b.
func fixChecksums(in []byte) []byte {
	b := slices.Clone(in)
	if len(b) < headerLen+tocLen {
		return b
	}
	toc := b[len(b)-tocLen:]
	end := uint64(len(b) - tocLen)
	for i := range numSections {
		off := binary.BigEndian.Uint64(toc[i*8:])
		if off < headerLen || off > end || end-off < 12 {
			continue
		}
		n := binary.BigEndian.Uint64(b[off:])
		if n > end-off-12 {
			continue
		}
		binary.BigEndian.PutUint32(b[off+8+n:], crc32.Checksum(b[off+8:off+8+n], castagnoli))
	}
	binary.BigEndian.PutUint32(toc[numSections*8:], crc32.Checksum(toc[:numSections*8], castagnoli))
	return b
}

func readEverything(r *BlockReader) {
	var sb labels.ScratchBuilder
	for id := range r.NumSeries() {
		_, _, _ = r.Series(uint64(id), &sb, nil)
	}
	_ = r.Symbols(func(string) error { return nil })
	for _, name := range r.LabelNames() {
		vals, _ := r.LabelValues(name)
		_, _ = r.Postings(name, vals...)
		_, _ = Select(r, labels.MustNewMatcher(labels.MatchRegexp, name, ".+"))
	}
}
