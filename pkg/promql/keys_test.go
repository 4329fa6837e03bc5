package promql

import (
	"strconv"
	"testing"
)

func TestKeyIndex(t *testing.T) {
	var x keyIndex
	for round := range 2 {
		for i := range 3 * smallKeys {
			got, isNew := x.index([]byte("key" + strconv.Itoa(i)))
			if got != i || isNew != (round == 0) {
				t.Fatalf("round %d, key %d: got %d, new=%v", round, i, got, isNew)
			}
		}
	}
	if x.len() != 3*smallKeys {
		t.Fatalf("len: got %d, want %d", x.len(), 3*smallKeys)
	}
	if got, isNew := x.index(nil); got != 3*smallKeys || !isNew {
		t.Fatalf("empty key: got %d, new=%v", got, isNew)
	}
}
