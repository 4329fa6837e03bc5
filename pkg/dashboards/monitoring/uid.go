package monitoring

import (
	"crypto/sha256"
	"encoding/hex"
)

// stableUID is prefix followed by a hash of key: the same key always gives
// the same uid, and the result fits Grafana's 40-character limit.
func stableUID(prefix, key string) string {
	sum := sha256.Sum256([]byte(key))
	n := 40 - len(prefix)
	if n > 16 {
		n = 16
	}
	return prefix + hex.EncodeToString(sum[:])[:n]
}
