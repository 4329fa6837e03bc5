//go:build windows

package fileutil

// syncDir is a no-op: Windows has no directory fsync, and NTFS journals
// metadata changes itself.
func syncDir(string) error { return nil }
