//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package fileutil

import (
	"io"
	"os"
)

// mmap reads the file into memory where memory mapping is not wired up
// (Windows and rarer systems): correct, but blocks then cost heap.
func mmap(f *os.File, size int) ([]byte, error) {
	b := make([]byte, size)
	_, err := io.ReadFull(f, b)
	return b, err
}

func munmap([]byte) error { return nil }
