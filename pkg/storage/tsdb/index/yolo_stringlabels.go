//go:build !slicelabels && !dedupelabels

package index

import "unsafe"

// yoloString views b as a string without copying. It is used only for
// names and values handed to labels.ScratchBuilder, whose Labels copies
// them into one new string with this (the default) labels implementation.
func yoloString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
