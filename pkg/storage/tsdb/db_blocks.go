package tsdb

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/graftlabs/graft/pkg/storage/tsdb/chunks"
	"github.com/graftlabs/graft/pkg/storage/tsdb/index"
)

const (
	// tmpSuffix marks a block being written; a crash leaves it behind and
	// the next start removes it.
	tmpSuffix = ".tmp"
	// deletingSuffix marks a block being deleted.
	deletingSuffix = ".tmp-for-deletion"
	// corruptDirname holds blocks set aside because they are damaged.
	corruptDirname = "corrupt"
	lockFilename   = "lock"
)

// CorruptBlock is a block that was set aside because it is damaged.
type CorruptBlock struct {
	ULID string
	// Dir is where the block now lies, under the data directory's corrupt/.
	Dir  string
	Err  string
	Time time.Time
}

// errBlockCorrupt marks failures to open a block that come from its files'
// content, as opposed to the system (permissions, memory).
var errBlockCorrupt = errors.New("corrupt block")

func isCorruption(err error) bool {
	return errors.Is(err, errBlockCorrupt) || errors.Is(err, index.ErrCorrupt) || errors.Is(err, chunks.ErrCorrupt) ||
		errors.Is(err, fs.ErrNotExist)
}

// loadBlocks opens the blocks of the data directory: leftovers of
// interrupted writes and deletions are removed, damaged blocks set aside,
// and blocks that a compaction replaced (it finished, but the crash came
// before their deletion) deleted.
func (db *DB) loadBlocks() error {
	entries, err := os.ReadDir(db.dir)
	if err != nil {
		return fmt.Errorf("list data directory: %w", err)
	}
	var blocks []*Block
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() {
			continue
		}
		if strings.HasSuffix(name, tmpSuffix) || strings.HasSuffix(name, deletingSuffix) {
			if isULID(strings.TrimSuffix(strings.TrimSuffix(name, deletingSuffix), tmpSuffix)) {
				if err := os.RemoveAll(filepath.Join(db.dir, name)); err != nil {
					return fmt.Errorf("remove interrupted block %s: %w", name, err)
				}
			}
			continue
		}
		if !isULID(name) {
			continue
		}
		b, err := OpenBlock(filepath.Join(db.dir, name))
		if err != nil {
			if !isCorruption(err) {
				closeAll(blocks)
				return err
			}
			db.setAside(name, err)
			continue
		}
		blocks = append(blocks, b)
	}
	replaced := map[string]bool{}
	for _, b := range blocks {
		for _, p := range b.meta.Compaction.Parents {
			replaced[p] = true
		}
	}
	kept := blocks[:0]
	for _, b := range blocks {
		if !replaced[b.meta.ULID] {
			kept = append(kept, b)
			continue
		}
		db.logger.Info("Deleting a block that a finished compaction replaced", "block", b.meta.ULID)
		if err := db.deleteBlock(b); err != nil {
			closeAll(kept)
			return err
		}
	}
	db.setBlocks(kept)
	return nil
}

func closeAll(blocks []*Block) {
	for _, b := range blocks {
		b.Close()
	}
}

// setBlocks installs the served block list, sorted by resolution then time.
// Callers hold db.mtx or run before the DB is shared.
func (db *DB) setBlocks(blocks []*Block) {
	slices.SortFunc(blocks, func(a, b *Block) int {
		switch {
		case a.meta.Resolution != b.meta.Resolution:
			return cmpInt(a.meta.Resolution, b.meta.Resolution)
		case a.meta.MinTime != b.meta.MinTime:
			return cmpInt(a.meta.MinTime, b.meta.MinTime)
		}
		return strings.Compare(a.meta.ULID, b.meta.ULID)
	})
	for _, b := range blocks {
		b.onCorrupt = db.blockCorrupt
	}
	db.blocks = blocks
	db.metrics.blocksLoaded.Set(float64(len(blocks)))
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Blocks returns the blocks being served.
func (db *DB) Blocks() []*Block {
	db.mtx.RLock()
	defer db.mtx.RUnlock()
	return slices.Clone(db.blocks)
}

// rawBlocksMaxTime is the end of the newest raw block, math.MinInt64 if none.
// Callers hold db.mtx.
func (db *DB) rawBlocksMaxTime() int64 {
	maxt := int64(minInt64)
	for _, b := range db.blocks {
		if b.meta.Resolution == 0 {
			maxt = max(maxt, b.meta.MaxTime)
		}
	}
	return maxt
}

// deleteBlock closes a block (waiting for its readers) and removes its
// directory, renaming it first so that a crash midway leaves no half block.
func (db *DB) deleteBlock(b *Block) error {
	if err := b.Close(); err != nil {
		db.logger.Warn("Closing a block to delete it", "block", b.meta.ULID, "err", err)
	}
	tmp := b.dir + deletingSuffix
	if err := os.Rename(b.dir, tmp); err != nil {
		return fmt.Errorf("delete block %s: %w", b.meta.ULID, err)
	}
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("delete block %s: %w", b.meta.ULID, err)
	}
	return nil
}

// blockCorrupt is called by a block whose read found damage: the block is
// set aside in the background (its own readers must finish first) and the
// other blocks keep serving.
func (db *DB) blockCorrupt(b *Block, err error) {
	db.corruptMtx.Lock()
	if db.settingAside[b.meta.ULID] {
		db.corruptMtx.Unlock()
		return
	}
	db.settingAside[b.meta.ULID] = true
	db.corruptMtx.Unlock()
	db.logger.Error("Block is corrupt; setting it aside, the other blocks keep serving", "block", b.meta.ULID, "err", err)
	db.bg.Add(1)
	go func() {
		defer db.bg.Done()
		db.mtx.Lock()
		db.setBlocks(slices.DeleteFunc(slices.Clone(db.blocks), func(x *Block) bool { return x == b }))
		db.mtx.Unlock()
		if cerr := b.Close(); cerr != nil {
			db.logger.Warn("Closing a corrupt block", "block", b.meta.ULID, "err", cerr)
		}
		db.setAside(b.meta.ULID, err)
		db.feed.deleted(b.meta.MinTime, b.meta.MaxTime-1)
	}()
}

// setAside moves a damaged block to corrupt/ and records it.
func (db *DB) setAside(name string, cause error) {
	db.metrics.blocksCorrupt.Inc()
	cb := CorruptBlock{ULID: name, Dir: filepath.Join(db.dir, corruptDirname, name), Err: cause.Error(), Time: time.Now()}
	if err := os.MkdirAll(filepath.Join(db.dir, corruptDirname), 0o750); err == nil {
		if _, serr := os.Stat(cb.Dir); serr == nil {
			cb.Dir += fmt.Sprintf("-%d", time.Now().UnixNano()) // set aside before
		}
		err = os.Rename(filepath.Join(db.dir, name), cb.Dir)
		if err != nil {
			cb.Dir = filepath.Join(db.dir, name)
			db.logger.Error("Moving a corrupt block aside failed; it stays where it is and is not served", "block", name, "err", err)
		}
	}
	db.logger.Error("Corrupt block set aside", "block", name, "dir", cb.Dir, "err", cause)
	db.corruptMtx.Lock()
	db.corrupt = append(db.corrupt, cb)
	db.corruptMtx.Unlock()
}

// CorruptBlocks lists the blocks set aside since the DB was opened.
func (db *DB) CorruptBlocks() []CorruptBlock {
	db.corruptMtx.Lock()
	defer db.corruptMtx.Unlock()
	return slices.Clone(db.corrupt)
}
