package fileutil

import (
	"fmt"
	"os"
)

// MappedFile is a read-only file mapped into memory.
type MappedFile struct {
	b []byte
}

// OpenMapped maps the file at path. An empty file maps to no bytes.
func OpenMapped(path string) (*MappedFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close() // the mapping outlives the descriptor
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := st.Size()
	if size == 0 {
		return &MappedFile{}, nil
	}
	if size != int64(int(size)) || size < 0 {
		return nil, fmt.Errorf("%s: %d bytes cannot be mapped", path, size)
	}
	b, err := mmap(f, int(size))
	if err != nil {
		return nil, err
	}
	return &MappedFile{b: b}, nil
}

// Bytes are the file's content; they are valid until Close.
func (m *MappedFile) Bytes() []byte { return m.b }

// Close unmaps the file. Slices of Bytes must not be used afterwards.
func (m *MappedFile) Close() error {
	if m.b == nil {
		return nil
	}
	err := munmap(m.b)
	m.b = nil
	return err
}

// DirLock is an exclusive lock on a directory, held until Release.
type DirLock struct{ f *os.File }

// LockDir locks dir through the file name in it, so that two processes
// cannot use one directory at once.
func LockDir(dir, name string) (*DirLock, error) {
	path := dir + string(os.PathSeparator) + name
	f, err := lockFile(path)
	if err != nil {
		return nil, fmt.Errorf("lock %s (is another process using this directory?): %w", path, err)
	}
	return &DirLock{f: f}, nil
}

// Release unlocks the directory.
func (l *DirLock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
