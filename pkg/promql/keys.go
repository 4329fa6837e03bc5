package promql

import "bytes"

// smallKeys is how many keys a keyIndex searches linearly before it moves
// them to a map.
const smallKeys = 16

// keyIndex numbers distinct byte strings (series keys: grouping labels,
// join signatures, output labels) in order of first appearance. Most
// operators see a handful of keys, for which a map and a string per key
// cost more than comparing them one by one in a shared buffer; past
// smallKeys keys the index moves them to a map.
type keyIndex struct {
	buf  []byte // the keys, one after another
	ends [smallKeys]int32
	m    map[string]int
	n    int // keys numbered; while m is nil, key i ends at ends[i] in buf
}

// index returns the number of key, numbering it if new, and whether it
// was.
func (x *keyIndex) index(key []byte) (int, bool) {
	if x.m != nil {
		if i, ok := x.m[string(key)]; ok {
			return i, false
		}
		x.m[string(key)] = x.n
		x.n++
		return x.n - 1, true
	}
	start := int32(0)
	for i, end := range x.ends[:x.n] {
		if bytes.Equal(x.buf[start:end], key) {
			return i, false
		}
		start = end
	}
	if x.n == smallKeys {
		x.toMap()
		return x.index(key)
	}
	x.buf = append(x.buf, key...)
	x.ends[x.n] = int32(len(x.buf))
	x.n++
	return x.n - 1, true
}

func (x *keyIndex) toMap() {
	x.m = make(map[string]int, 4*smallKeys)
	start := int32(0)
	for i, end := range x.ends[:x.n] {
		x.m[string(x.buf[start:end])] = i
		start = end
	}
	x.buf = nil
}

// len is the number of keys.
func (x *keyIndex) len() int { return x.n }
