package tsdb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/graftlabs/graft/pkg/storage/tsdb/chunks"
	"github.com/graftlabs/graft/pkg/storage/tsdb/fileutil"
	"github.com/graftlabs/graft/pkg/storage/tsdb/index"
)

// blockInput is what a block is written from: every label name and value
// the series use, and the series in label order.
type blockInput struct {
	symbols []string
	// each calls yield for every series, in label order; chunks may
	// overlap and are normalized before they are written.
	each func(ctx context.Context, yield func(seriesChunks) error) error
}

// errEmptyBlock says that the input held no samples: no block was written.
var errEmptyBlock = errors.New("no samples to write")

// writeBlock writes a block into parent/<ulid>.tmp (chunks normalized by
// norm, or written as they are with a nil norm), fsyncs it and renames
// it into place, so that a crash leaves either a whole block or a .tmp
// directory that the next start removes.
func writeBlock(ctx context.Context, parent string, meta BlockMeta, in blockInput, norm *chunkNormalizer) (BlockMeta, error) {
	meta.ULID = newULID(time.Now())
	meta.Version = blockVersion
	if meta.Compaction.Level == 1 {
		meta.Compaction.Sources = []string{meta.ULID}
	}
	dir := filepath.Join(parent, meta.ULID)
	tmp := dir + tmpSuffix
	if err := os.MkdirAll(tmp, 0o750); err != nil {
		return meta, fmt.Errorf("create block directory: %w", err)
	}
	meta, err := writeBlockFiles(ctx, tmp, meta, in, norm)
	if err == nil {
		err = fileutil.RenameDir(tmp, dir)
	}
	if err != nil {
		os.RemoveAll(tmp)
		return meta, err
	}
	return meta, nil
}

func writeBlockFiles(ctx context.Context, dir string, meta BlockMeta, in blockInput, norm *chunkNormalizer) (BlockMeta, error) {
	cw, err := chunks.NewWriter(filepath.Join(dir, chunksDirname), 0)
	if err != nil {
		return meta, err
	}
	iw, err := index.NewWriter(filepath.Join(dir, indexFilename), in.symbols)
	if err != nil {
		cw.Close()
		return meta, err
	}
	var metas []index.ChunkMeta
	meta.Stats = BlockStats{}
	err = in.each(ctx, func(s seriesChunks) error {
		cs := s.chunks
		if norm != nil {
			var err error
			if cs, err = norm.normalize(s.chunks); err != nil {
				return fmt.Errorf("series %s: %w", s.lset, err)
			}
		}
		if len(cs) == 0 {
			return nil
		}
		metas = metas[:0]
		for _, c := range cs {
			ref, err := cw.Write(c.chunk.Enc, c.chunk.Data)
			if err != nil {
				return err
			}
			metas = append(metas, index.ChunkMeta{MinT: c.minT, MaxT: c.maxT, Ref: uint64(ref)})
			meta.Stats.NumSamples += uint64(c.chunk.NumSamples())
		}
		meta.Stats.NumChunks += uint64(len(cs))
		meta.Stats.NumSeries++
		return iw.AddSeries(s.lset, metas)
	})
	cerr := cw.Close()
	if err != nil || cerr != nil {
		iw.Abort()
		return meta, errors.Join(err, cerr)
	}
	if err := iw.Close(); err != nil {
		return meta, err
	}
	if meta.Stats.NumSeries == 0 {
		return meta, errEmptyBlock
	}
	if meta.Files, err = listFiles(dir); err != nil {
		return meta, err
	}
	b, err := json.MarshalIndent(meta, "", "\t")
	if err != nil {
		return meta, err
	}
	if err := writeFileSync(filepath.Join(dir, metaFilename), b); err != nil {
		return meta, err
	}
	return meta, fileutil.SyncDir(dir)
}

// listFiles lists the files under dir (relative, slash-separated) with
// their sizes.
func listFiles(dir string) ([]BlockFile, error) {
	var out []BlockFile
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		out = append(out, BlockFile{Path: filepath.ToSlash(rel), Size: info.Size()})
		return nil
	})
	return out, err
}

func writeFileSync(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("fsync %s: %w", path, err)
	}
	return f.Close()
}
