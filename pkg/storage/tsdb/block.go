package tsdb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/storage/tsdb/chunkenc"
	"github.com/graftlabs/graft/pkg/storage/tsdb/chunks"
	"github.com/graftlabs/graft/pkg/storage/tsdb/index"
)

// A block is an immutable directory holding the samples of [MinTime,
// MaxTime): meta.json, index (postings, symbols, series) and chunks/.
const (
	metaFilename  = "meta.json"
	indexFilename = "index"
	chunksDirname = "chunks"
	blockVersion  = 1
)

// BlockMeta describes a block; it is its meta.json.
type BlockMeta struct {
	ULID string `json:"ulid"`
	// MinTime is the oldest sample's time; MaxTime is exclusive (ms).
	MinTime int64      `json:"minTime"`
	MaxTime int64      `json:"maxTime"`
	Stats   BlockStats `json:"stats"`
	// Resolution is the spacing of downsampled points in ms; 0 for raw data.
	Resolution int64 `json:"resolution,omitempty"`
	// DownsampledFrom is the block a downsampled block was made from.
	DownsampledFrom string          `json:"downsampledFrom,omitempty"`
	Compaction      BlockCompaction `json:"compaction"`
	// Files lists every file with its size, so that a truncated or missing
	// file is detected when the block is opened.
	Files   []BlockFile `json:"files"`
	Version int         `json:"version"`
}

// BlockStats count a block's content.
type BlockStats struct {
	NumSamples uint64 `json:"numSamples"`
	NumSeries  uint64 `json:"numSeries"`
	NumChunks  uint64 `json:"numChunks"`
}

// BlockCompaction says where a block came from.
type BlockCompaction struct {
	// Level is 1 for blocks cut from the head, one more than the highest
	// of its parents for compacted blocks.
	Level int `json:"level"`
	// Sources are the level-1 blocks whose data this block holds.
	Sources []string `json:"sources,omitempty"`
	// Parents are the blocks this one replaced.
	Parents []string `json:"parents,omitempty"`
}

// BlockFile is one file of a block.
type BlockFile struct {
	Path string `json:"path"`
	Size int64  `json:"size"`
}

func readMeta(dir string) (BlockMeta, error) {
	var m BlockMeta
	b, err := os.ReadFile(filepath.Join(dir, metaFilename))
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("parse %s: %w: %w", metaFilename, err, errBlockCorrupt)
	}
	if m.Version != blockVersion {
		return m, fmt.Errorf("%s: unknown block version %d: %w", metaFilename, m.Version, errBlockCorrupt)
	}
	if m.MaxTime <= m.MinTime {
		return m, fmt.Errorf("%s: empty time range [%d, %d): %w", metaFilename, m.MinTime, m.MaxTime, errBlockCorrupt)
	}
	return m, nil
}

// Block is an open block: its index and chunks memory-mapped.
type Block struct {
	dir    string
	meta   BlockMeta
	index  *index.BlockReader
	chunks *chunks.Reader
	size   int64

	// readers counts queriers using the block; closing waits for them.
	mtx     sync.Mutex
	readers int
	idle    *sync.Cond
	closed  bool

	// onCorrupt is told when a read finds the block damaged.
	onCorrupt func(b *Block, err error)
}

// OpenBlock opens the block in dir, checking its files' sizes and its
// index's checksums. Chunks are checked as they are read.
func OpenBlock(dir string) (*Block, error) {
	meta, err := readMeta(dir)
	if err != nil {
		return nil, fmt.Errorf("open block %s: %w", dir, err)
	}
	var size int64
	for _, f := range meta.Files {
		st, err := os.Stat(filepath.Join(dir, f.Path))
		if err != nil {
			return nil, fmt.Errorf("open block %s: %w", dir, err)
		}
		if st.Size() != f.Size {
			return nil, fmt.Errorf("open block %s: %s has %d bytes, meta.json says %d: %w", dir, f.Path, st.Size(), f.Size, errBlockCorrupt)
		}
		size += f.Size
	}
	ir, err := index.OpenBlockReader(filepath.Join(dir, indexFilename))
	if err != nil {
		return nil, fmt.Errorf("open block %s: %w", dir, err)
	}
	cr, err := chunks.NewReader(filepath.Join(dir, chunksDirname))
	if err != nil {
		ir.Close()
		return nil, fmt.Errorf("open block %s: %w", dir, err)
	}
	if uint64(ir.NumSeries()) != meta.Stats.NumSeries {
		ir.Close()
		cr.Close()
		return nil, fmt.Errorf("open block %s: index holds %d series, meta.json says %d: %w", dir, ir.NumSeries(), meta.Stats.NumSeries, errBlockCorrupt)
	}
	b := &Block{dir: dir, meta: meta, index: ir, chunks: cr, size: size}
	b.idle = sync.NewCond(&b.mtx)
	return b, nil
}

// Meta returns the block's meta.json.
func (b *Block) Meta() BlockMeta { return b.meta }

// Dir is the block's directory.
func (b *Block) Dir() string { return b.dir }

// Size is the block's size on disk.
func (b *Block) Size() int64 { return b.size }

func (b *Block) overlaps(mint, maxt int64) bool {
	return b.meta.MinTime <= maxt && mint < b.meta.MaxTime
}

// acquire registers a reader; it fails once the block is closing.
func (b *Block) acquire() bool {
	b.mtx.Lock()
	defer b.mtx.Unlock()
	if b.closed {
		return false
	}
	b.readers++
	return true
}

func (b *Block) release() {
	b.mtx.Lock()
	b.readers--
	if b.readers == 0 {
		b.idle.Broadcast()
	}
	b.mtx.Unlock()
}

// Close waits for the block's readers and unmaps its files.
func (b *Block) Close() error {
	b.mtx.Lock()
	b.closed = true
	for b.readers > 0 {
		b.idle.Wait()
	}
	b.mtx.Unlock()
	return errors.Join(b.index.Close(), b.chunks.Close())
}

// corrupt reports err to the DB if it says the block's files are damaged.
func (b *Block) corrupt(err error) {
	if !errors.Is(err, index.ErrCorrupt) && !errors.Is(err, chunks.ErrCorrupt) {
		return
	}
	if b.onCorrupt != nil {
		b.onCorrupt(b, err)
	}
}

// selectSeries implements source.
func (b *Block) selectSeries(ctx context.Context, mint, maxt int64, ms []*labels.Matcher, labelsOnly bool) chunkSeriesSet {
	ids, err := index.Select(b.index, ms...)
	if err != nil {
		b.corrupt(err)
		return errSet{fmt.Errorf("block %s: %w", b.meta.ULID, err)}
	}
	return &blockSeriesSet{ctx: ctx, b: b, ids: ids, mint: mint, maxt: maxt, labelsOnly: labelsOnly}
}

func (b *Block) labelNames(context.Context) ([]string, error) { return b.index.LabelNames(), nil }

func (b *Block) labelValues(_ context.Context, name string) ([]string, error) {
	vals, err := b.index.LabelValues(name)
	if err != nil {
		b.corrupt(err)
		return nil, fmt.Errorf("block %s: %w", b.meta.ULID, err)
	}
	return vals, nil
}

// blockSeriesSet reads the selected series one at a time. Chunk data
// points into the block's mapping, which stays mapped while the querier
// holds the block (Block.acquire; Close waits for release): series and
// their iterators are valid until the querier is closed.
type blockSeriesSet struct {
	ctx        context.Context
	b          *Block
	ids        []uint64
	i          int
	mint, maxt int64
	labelsOnly bool

	sb    labels.ScratchBuilder
	metas []index.ChunkMeta
	slab  chunkSlab
	// series holds the series handed out, allocated a few at a time.
	series []seriesChunks
	err    error
}

func (s *blockSeriesSet) Next() bool {
	for s.err == nil && s.i < len(s.ids) {
		id := s.ids[s.i]
		s.i++
		if s.i%1024 == 0 {
			if err := s.ctx.Err(); err != nil {
				s.err = err
				return false
			}
		}
		lset, metas, err := s.b.index.Series(id, &s.sb, s.metas[:0])
		s.metas = metas
		if err != nil {
			s.fail(err)
			return false
		}
		list := s.slab.reserve(s.inRange(metas), len(s.ids)-s.i+1)
		for _, m := range metas {
			if m.MaxT < s.mint || m.MinT > s.maxt {
				continue
			}
			if s.labelsOnly {
				list = append(list, headChunk{minT: m.MinT, maxT: m.MaxT})
				continue
			}
			enc, data, err := s.b.chunks.Chunk(chunks.Ref(m.Ref))
			if err != nil {
				s.fail(fmt.Errorf("series %s: %w", lset, err))
				return false
			}
			list = append(list, headChunk{minT: m.MinT, maxT: m.MaxT, chunk: chunkenc.RawChunk{Enc: enc, Data: data}})
		}
		if len(list) > 0 {
			if len(s.series) == cap(s.series) {
				s.series = make([]seriesChunks, 0, min(len(s.ids)-s.i+1, 256))
			}
			s.series = append(s.series, seriesChunks{lset: lset, chunks: s.slab.commit(list)})
			return true
		}
	}
	return false
}

// inRange counts the chunks of metas that overlap the select's range.
func (s *blockSeriesSet) inRange(metas []index.ChunkMeta) int {
	n := 0
	for _, m := range metas {
		if m.MaxT >= s.mint && m.MinT <= s.maxt {
			n++
		}
	}
	return n
}

func (s *blockSeriesSet) fail(err error) {
	s.b.corrupt(err)
	s.err = fmt.Errorf("block %s: %w", s.b.meta.ULID, err)
}

func (s *blockSeriesSet) At() *seriesChunks { return &s.series[len(s.series)-1] }
func (s *blockSeriesSet) Err() error        { return s.err }

// chunkSlab carves the chunk lists of a select's series out of shared
// backing arrays instead of allocating one per series. A list handed out
// is never moved or overwritten.
type chunkSlab struct{ buf []headChunk }

// reserve returns an empty list with room for n chunks, to be filled and
// passed to commit. A new backing array holds n times the lists expected
// to follow (series, when known), else twice the last one.
func (s *chunkSlab) reserve(n, series int) []headChunk {
	if n > cap(s.buf)-len(s.buf) {
		size := min(max(2*cap(s.buf), 16), 4096)
		if series > 0 {
			size = min(n*series, 4096)
		}
		s.buf = make([]headChunk, 0, max(size, n))
	}
	return s.buf[len(s.buf):len(s.buf)]
}

// commit keeps a list returned by reserve and filled. A list that
// outgrew its room was moved by append: it is returned as it is.
func (s *chunkSlab) commit(list []headChunk) []headChunk {
	room := s.buf[len(s.buf):cap(s.buf)]
	if len(list) == 0 || len(list) > len(room) || &list[0] != &room[0] {
		return slices.Clip(list)
	}
	start := len(s.buf)
	s.buf = s.buf[:start+len(list)]
	return s.buf[start : start+len(list) : start+len(list)]
}
