package tsdb

import (
	"crypto/rand"
	"encoding/binary"
	"time"
)

// Blocks are named by ULIDs, as Prometheus names them: 48 bits of
// milliseconds then 80 random bits, in Crockford's base32, so that names
// sort by creation time.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

func newULID(t time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(t.UnixMilli())<<16)
	_, _ = rand.Read(b[6:]) // crypto/rand does not fail on supported systems
	// 128 bits as 26 groups of 5, the first group holding 3 bits.
	hi, lo := binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
	out := make([]byte, 26)
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out)
}

// isULID says whether name looks like a block name.
func isULID(name string) bool {
	if len(name) != 26 || name[0] > '7' {
		return false
	}
	for i := range len(name) {
		c := name[i]
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z') || c == 'I' || c == 'L' || c == 'O' || c == 'U' {
			return false
		}
	}
	return true
}
