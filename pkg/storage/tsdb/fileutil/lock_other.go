//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly || windows)

package fileutil

import "os"

// lockFile only creates the file on systems without flock: two processes
// opening one data directory there are not detected.
func lockFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
}
