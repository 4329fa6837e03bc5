//go:build slicelabels || dedupelabels

package index

// yoloString copies: these labels implementations keep the strings they
// are given, which must not point into a mapping that is later unmapped.
func yoloString(b []byte) string { return string(b) }
