package querycache

import (
	"cmp"
	"container/list"
	"slices"
)

// entry holds the extents of one query grid on one day: sorted, disjoint,
// and never touching (touching extents are merged into one).
type entry struct {
	key     entryKey
	extents []*extent
	size    int64
	elem    *list.Element
}

// store is the cache's memory: entries by key, least recently used last.
// The cache's lock guards it.
type store struct {
	entries  map[entryKey]*entry
	lru      *list.List
	bytes    int64
	extents  int
	maxBytes int64
}

func newStore(maxBytes int64) *store {
	return &store{entries: map[entryKey]*entry{}, lru: list.New(), maxBytes: maxBytes}
}

// lookup cuts sp into parts: those an extent covers, and missing ones.
func (s *store) lookup(k entryKey, sp span, step int64) []part {
	e := s.entries[k]
	if e == nil {
		return []part{{key: k, span: sp}}
	}
	s.lru.MoveToFront(e.elem)
	var parts []part
	cur := sp.from
	for _, x := range e.extents {
		if x.to < cur {
			continue
		}
		if x.from > sp.to {
			break
		}
		if x.from > cur {
			parts = append(parts, part{key: k, span: span{cur, x.from - step}})
			cur = x.from
		}
		to := min(sp.to, x.to)
		parts = append(parts, part{key: k, span: span{cur, to}, x: x})
		cur = to + step
	}
	if cur <= sp.to {
		parts = append(parts, part{key: k, span: span{cur, sp.to}})
	}
	return parts
}

// insert adds x, merged with the extents it overlaps or touches, and
// evicts what no longer fits. It returns how many extents were evicted.
func (s *store) insert(k entryKey, x *extent, step int64) int {
	if x.size > s.maxBytes {
		return 0
	}
	e := s.entries[k]
	if e == nil {
		e = &entry{key: k}
		e.elem = s.lru.PushFront(e)
		s.entries[k] = e
	}
	kept := e.extents[:0]
	for _, o := range e.extents {
		if o.to+step < x.from || o.from > x.to+step {
			kept = append(kept, o)
			continue
		}
		x = mergeExtents(o, x)
		s.account(e, -o.size, -1)
	}
	clear(e.extents[len(kept):]) // let merged extents go
	i, _ := slices.BinarySearchFunc(kept, x.from, func(o *extent, t int64) int { return cmp.Compare(o.from, t) })
	e.extents = slices.Insert(kept, i, x)
	s.account(e, x.size, 1)
	s.lru.MoveToFront(e.elem)
	return s.evict()
}

func (s *store) account(e *entry, bytes int64, extents int) {
	e.size += bytes
	s.bytes += bytes
	s.extents += extents
}

// evict drops least recently used entries until the store fits.
func (s *store) evict() int {
	n := 0
	for s.bytes > s.maxBytes && s.lru.Len() > 0 {
		e := s.lru.Back().Value.(*entry)
		n += len(e.extents)
		s.remove(e)
	}
	return n
}

func (s *store) remove(e *entry) {
	s.lru.Remove(e.elem)
	delete(s.entries, e.key)
	s.bytes -= e.size
	s.extents -= len(e.extents)
}

// invalidate drops the extents a change may have made stale and returns
// how many.
func (s *store) invalidate(sum *changeSummary) int {
	n := 0
	for _, e := range s.entries {
		kept := e.extents[:0]
		for _, x := range e.extents {
			if x.deps.affectedBy(sum) {
				s.account(e, -x.size, -1)
				n++
				continue
			}
			kept = append(kept, x)
		}
		clear(e.extents[len(kept):]) // let dropped extents go
		e.extents = kept
		if len(kept) == 0 {
			s.remove(e)
		}
	}
	return n
}

// dropAll empties the store and returns how many extents it held.
func (s *store) dropAll() int {
	n := s.extents
	clear(s.entries)
	s.lru.Init()
	s.bytes, s.extents = 0, 0
	return n
}
