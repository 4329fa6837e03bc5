package tsdb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/graftlabs/graft/pkg/storage/tsdb/fileutil"
)

// Snapshot writes a consistent copy of the database into dir, which must
// not exist or be empty: every block (hard-linked where the filesystem
// allows, else copied) and, with withHead, the head written as one more
// block. The copy opens as a data directory of its own (without a WAL).
func (db *DB) Snapshot(ctx context.Context, dir string, withHead bool) error {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("snapshot: %s is not empty", dir)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	db.mtx.RLock()
	var held []*Block
	for _, b := range db.blocks {
		if b.acquire() {
			held = append(held, b)
		}
	}
	db.mtx.RUnlock()
	defer func() {
		for _, b := range held {
			b.release()
		}
	}()
	for _, b := range held {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := copyBlock(b, filepath.Join(dir, b.meta.ULID)); err != nil {
			return fmt.Errorf("snapshot block %s: %w", b.meta.ULID, err)
		}
	}
	if withHead {
		if err := db.snapshotHead(ctx, dir); err != nil {
			return fmt.Errorf("snapshot head: %w", err)
		}
	}
	return fileutil.SyncDir(dir)
}

// snapshotHead writes everything the head holds, late samples included,
// as one block.
func (db *DB) snapshotHead(ctx context.Context, dir string) error {
	h := db.head
	mint, maxt := h.MinTime(), h.MaxTime()
	// Late samples may lie outside the in-order bounds on either side
	// (after a block cut, the window reaches past the newest in-order one).
	h.series.forEach(func(s *memSeries) {
		s.mtx.Lock()
		mint, maxt = min(mint, s.oooMinT()), max(maxt, s.oooMaxT())
		s.mtx.Unlock()
	})
	if mint == math.MaxInt64 || maxt == math.MinInt64 {
		return nil // empty head
	}
	meta := BlockMeta{MinTime: mint, MaxTime: maxt + 1, Compaction: BlockCompaction{Level: 1}}
	norm := &chunkNormalizer{maxSamples: db.opts.BlockChunkSamples, recode: true}
	_, err := writeBlock(ctx, dir, meta, h.blockInput(mint, maxt+1), norm)
	if errors.Is(err, errEmptyBlock) {
		return nil
	}
	return err
}

// copyBlock links (or copies) the files of b into dir, with a .tmp
// directory renamed at the end as blocks are written.
func copyBlock(b *Block, dir string) error {
	tmp := dir + tmpSuffix
	for _, f := range append(b.meta.Files, BlockFile{Path: metaFilename}) {
		src, dst := filepath.Join(b.dir, filepath.FromSlash(f.Path)), filepath.Join(tmp, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
			return err
		}
		if err := os.Link(src, dst); err != nil {
			if err := copyFile(src, dst); err != nil {
				return err
			}
		}
	}
	return fileutil.RenameDir(tmp, dir)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
