//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package fileutil

import (
	"fmt"
	"os"
	"syscall"
)

// mmap maps size bytes of f read-only. The pages stay in the page cache,
// not on the Go heap: blocks of any size are read with bounded memory.
func mmap(f *os.File, size int) ([]byte, error) {
	b, err := syscall.Mmap(int(f.Fd()), 0, size, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mmap %s: %w", f.Name(), err)
	}
	return b, nil
}

func munmap(b []byte) error { return syscall.Munmap(b) }

// lockFile opens path and takes an exclusive advisory lock on it, failing
// at once if another process holds it. The kernel releases the lock when the
// process dies, so a crash never leaves a stale lock behind.
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
