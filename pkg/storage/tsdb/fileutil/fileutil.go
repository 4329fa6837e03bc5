// Package fileutil holds the few file operations the TSDB needs to make
// writes durable: fsync of files and directories, and atomic replacement.
package fileutil

import (
	"fmt"
	"os"
	"path/filepath"
)

// SyncDir makes the entries of dir (creations, renames, removals) durable.
func SyncDir(dir string) error {
	return syncDir(dir)
}

// WriteFileAtomic writes b to path through a temporary file, fsyncs it and
// renames it into place, so that path holds either the old or the new
// content after a crash.
func WriteFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("sync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return SyncDir(filepath.Dir(path))
}

// RenameDir moves a directory into place and makes the move durable.
func RenameDir(from, to string) error {
	if err := os.Rename(from, to); err != nil {
		return err
	}
	return SyncDir(filepath.Dir(to))
}

// DirSize is the total size of the regular files under dir.
func DirSize(dir string) (int64, error) {
	var size int64
	err := filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if info.Mode().IsRegular() {
			size += info.Size()
		}
		return nil
	})
	return size, err
}
