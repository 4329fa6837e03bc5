package prefetch

import "unsafe"

// Line starts loading the cache line holding p. It never faults.
//
//go:noescape
func Line(p unsafe.Pointer)
