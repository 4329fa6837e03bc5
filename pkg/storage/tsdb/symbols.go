package tsdb

import (
	"encoding/binary"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/prometheus/prometheus/model/labels"
)

// The head stores each series' labels as ids into one table of the
// distinct names and values, instead of a string of its own: label values
// repeat across series (job, instance, mode, pod...), so a label set takes
// a few bytes per label rather than all of its characters. Labels are
// built back when a query returns the series.

// symLabels are a label set as uvarint name and value ids, in label order,
// in a string (immutable, and a string header is smaller than a slice's).
type symLabels string

// uvarint decodes the id at the start of s and its length.
func uvarint(s symLabels) (uint64, int) {
	var x uint64
	for i := 0; i < len(s) && i < binary.MaxVarintLen64; i++ {
		b := s[i]
		if b < 0x80 {
			return x | uint64(b)<<(7*uint(i)), i + 1
		}
		x |= uint64(b&0x7f) << (7 * uint(i))
	}
	return 0, len(s) + 1 // cannot happen: the table wrote s
}

type symbolTable struct {
	mtx  sync.RWMutex
	ids  map[string]uint32
	strs []string
	// refs counts the label sets using each id, in pages that never move
	// (readers count under the read lock); an id at zero is reused.
	refs [][]atomic.Int32
	free []uint32
}

const symPageBits = 12

func (t *symbolTable) ref(id uint32) *atomic.Int32 {
	return &t.refs[id>>symPageBits][id&(1<<symPageBits-1)]
}

func newSymbolTable() *symbolTable {
	return &symbolTable{ids: map[string]uint32{}}
}

// intern returns lset as ids, counting a use of each.
func (t *symbolTable) intern(lset labels.Labels) symLabels {
	out := make([]byte, 0, 2*lset.Len()+4)
	t.mtx.RLock()
	missing := false
	lset.Range(func(l labels.Label) {
		if missing {
			return
		}
		n, ok1 := t.ids[l.Name]
		v, ok2 := t.ids[l.Value]
		if !ok1 || !ok2 {
			missing = true
			return
		}
		// Counted as found, and undone below if a symbol is missing:
		// the read lock keeps release, which frees ids, out meanwhile.
		t.ref(n).Add(1)
		t.ref(v).Add(1)
		out = binary.AppendUvarint(binary.AppendUvarint(out, uint64(n)), uint64(v))
	})
	if !missing {
		t.mtx.RUnlock()
		return symLabels(out)
	}
	t.forEachID(symLabels(out), func(id uint32) { t.ref(id).Add(-1) })
	t.mtx.RUnlock()
	t.mtx.Lock()
	defer t.mtx.Unlock()
	out = out[:0]
	lset.Range(func(l labels.Label) {
		out = binary.AppendUvarint(out, uint64(t.add(l.Name)))
		out = binary.AppendUvarint(out, uint64(t.add(l.Value)))
	})
	return symLabels(out)
}

// add returns the id of s, creating it, and counts a use. Callers hold the
// write lock.
func (t *symbolTable) add(s string) uint32 {
	id, ok := t.ids[s]
	if !ok {
		s = strings.Clone(s) // not the caller's label set's memory
		if n := len(t.free); n > 0 {
			id = t.free[n-1]
			t.free = t.free[:n-1]
			t.strs[id] = s
		} else {
			id = uint32(len(t.strs))
			t.strs = append(t.strs, s)
			if int(id>>symPageBits) == len(t.refs) {
				t.refs = append(t.refs, make([]atomic.Int32, 1<<symPageBits))
			}
		}
		t.ids[s] = id
	}
	t.ref(id).Add(1)
	return id
}

// release drops a use of every id of sl; ids no label set uses are freed.
func (t *symbolTable) release(sl symLabels) {
	t.mtx.Lock()
	defer t.mtx.Unlock()
	t.forEachID(sl, func(id uint32) {
		if t.ref(id).Add(-1) == 0 {
			delete(t.ids, t.strs[id])
			t.strs[id] = ""
			t.free = append(t.free, id)
		}
	})
}

func (t *symbolTable) forEachID(sl symLabels, f func(uint32)) {
	for len(sl) > 0 {
		id, n := uvarint(sl)
		sl = sl[n:]
		f(uint32(id))
	}
}

// pairKeys appends a key per label of sl to buf: its name and value ids,
// which stand for the label pair until one of them is freed.
func pairKeys(sl symLabels, buf []uint64) []uint64 {
	for len(sl) > 0 {
		n, k := uvarint(sl)
		v, k2 := uvarint(sl[k:])
		sl = sl[k+k2:]
		buf = append(buf, n<<32|v)
	}
	return buf
}

// pairs calls f with the name and value of each label of sl. Callers hold
// the read lock.
func (t *symbolTable) pairs(sl symLabels, f func(name, value string) bool) {
	for len(sl) > 0 {
		n, k := uvarint(sl)
		v, k2 := uvarint(sl[k:])
		sl = sl[k+k2:]
		if !f(t.strs[n], t.strs[v]) {
			return
		}
	}
}

// labels builds the label set of sl.
func (t *symbolTable) labels(sl symLabels, sb *labels.ScratchBuilder) labels.Labels {
	sb.Reset()
	t.mtx.RLock()
	t.pairs(sl, func(n, v string) bool { sb.Add(n, v); return true })
	t.mtx.RUnlock()
	return sb.Labels()
}

// equal says whether sl is lset.
func (t *symbolTable) equal(sl symLabels, lset labels.Labels) bool {
	t.mtx.RLock()
	defer t.mtx.RUnlock()
	var buf [16]labels.Label
	mine := buf[:0]
	t.pairs(sl, func(name, value string) bool {
		mine = append(mine, labels.Label{Name: name, Value: value})
		return true
	})
	if len(mine) != lset.Len() {
		return false
	}
	i, eq := 0, true
	lset.Range(func(l labels.Label) {
		eq = eq && mine[i] == l
		i++
	})
	return eq
}

// compare orders two label sets as labels.Compare does.
func (t *symbolTable) compare(a, b symLabels) int {
	t.mtx.RLock()
	defer t.mtx.RUnlock()
	return t.compareLocked(a, b)
}

// compareLocked is compare for callers holding the read lock. Equal
// labels have equal ids, so the common prefix of the encodings is skipped
// byte by byte; the first id that differs decides, by its string.
func (t *symbolTable) compareLocked(a, b symLabels) int {
	n := min(len(a), len(b))
	i := 0
	for i < n && a[i] == b[i] {
		i++
	}
	if i == n {
		// One encoding ends where the other goes on: it has fewer labels.
		return len(a) - len(b)
	}
	// Back to the start of the id holding the first difference (the bytes
	// before it, shared, end the previous id with a clear high bit).
	start := i
	for start > 0 && a[start-1] >= 0x80 {
		start--
	}
	x, _ := uvarint(a[start:])
	y, _ := uvarint(b[start:])
	// Whether it is a name or a value does not matter: all before it is
	// equal, so the strings of the differing ids order the label sets.
	return strings.Compare(t.strs[x], t.strs[y])
}

// len is the number of symbols held.
func (t *symbolTable) len() int {
	t.mtx.RLock()
	defer t.mtx.RUnlock()
	return len(t.ids)
}
