// Package index holds the inverted index: postings lists (sorted series
// refs per label pair) in memory for the head and on disk for blocks, and the
// matcher evaluation both share.
package index

import (
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/prometheus/prometheus/model/labels"
)

// Reader is what matcher evaluation needs from an index.
type Reader interface {
	// Postings returns the sorted union of the postings of name=v for each v.
	Postings(name string, values ...string) ([]uint64, error)
	// LabelValues returns the sorted values of name.
	LabelValues(name string) ([]string, error)
	// AllPostings returns every series ref, sorted.
	AllPostings() ([]uint64, error)
}

// MemPostings is the head's index: label name -> value -> sorted refs.
// Refs are added in increasing order, so adding appends: readers keep
// slices of the lists, whose elements never change.
type MemPostings struct {
	mtx sync.RWMutex
	m   map[string]map[string]*refList
	// byKey finds the lists by the keys Add was given: one integer lookup
	// instead of two string ones, under the lock every creation takes.
	byKey map[uint64]*refList
	all   []uint64
}

// refList is one postings list. The maps hold it by pointer so that adding
// a ref takes one map lookup, not a lookup and an assignment.
type refList struct {
	refs []uint64
	key  uint64 // its key in byKey, if it is there
}

func (l *refList) get() []uint64 {
	if l == nil {
		return nil
	}
	return l.refs[:len(l.refs):len(l.refs)]
}

// NewMemPostings returns an empty index.
func NewMemPostings() *MemPostings {
	return &MemPostings{m: map[string]map[string]*refList{}, byKey: map[uint64]*refList{}}
}

// Add indexes a series. ref must be larger than every ref added before,
// except during WAL replay, which calls EnsureOrder afterwards.
//
// keys, if not nil, hold a key per label of lset: equal keys must mean
// equal label pairs for as long as a series with the pair is indexed (the
// head passes the ids of its symbols, and deletes series before it frees
// their symbols).
func (p *MemPostings) Add(ref uint64, lset labels.Labels, keys []uint64) {
	p.mtx.Lock()
	p.all = append(p.all, ref)
	i := 0
	lset.Range(func(l labels.Label) {
		var list *refList
		if keys != nil {
			list = p.byKey[keys[i]]
			if list == nil {
				list = p.list(l)
				p.setKey(list, keys[i])
			}
			i++
		} else {
			list = p.list(l)
		}
		list.refs = append(list.refs, ref)
	})
	p.mtx.Unlock()
}

// list returns the list of l, creating it. Callers hold the write lock.
func (p *MemPostings) list(l labels.Label) *refList {
	vals := p.m[l.Name]
	if vals == nil {
		vals = map[string]*refList{}
		p.m[l.Name] = vals
	}
	list := vals[l.Value]
	if list == nil {
		list = &refList{}
		vals[l.Value] = list
	}
	return list
}

// setKey files list under key, and under no other.
func (p *MemPostings) setKey(list *refList, key uint64) {
	if p.byKey[list.key] == list {
		delete(p.byKey, list.key)
	}
	list.key = key
	p.byKey[key] = list
}

// EnsureOrder sorts every list (after a replay added refs out of order).
func (p *MemPostings) EnsureOrder() {
	p.mtx.Lock()
	defer p.mtx.Unlock()
	slices.Sort(p.all)
	for _, vals := range p.m {
		for _, list := range vals {
			slices.Sort(list.refs)
		}
	}
}

// Delete removes the given refs from every list.
func (p *MemPostings) Delete(gone map[uint64]struct{}) {
	if len(gone) == 0 {
		return
	}
	keep := func(list []uint64) []uint64 {
		return slices.DeleteFunc(list, func(r uint64) bool { _, ok := gone[r]; return ok })
	}
	p.mtx.Lock()
	defer p.mtx.Unlock()
	p.all = keep(slices.Clone(p.all))
	for name, vals := range p.m {
		for v, list := range vals {
			// Clone: readers may hold the old list.
			if list.refs = keep(slices.Clone(list.refs)); len(list.refs) == 0 {
				delete(vals, v)
				if p.byKey[list.key] == list {
					delete(p.byKey, list.key)
				}
			}
		}
		if len(vals) == 0 {
			delete(p.m, name)
		}
	}
}

// Postings implements Reader.
func (p *MemPostings) Postings(name string, values ...string) ([]uint64, error) {
	p.mtx.RLock()
	defer p.mtx.RUnlock()
	vals := p.m[name]
	if len(values) == 1 {
		return vals[values[0]].get(), nil
	}
	lists := make([][]uint64, 0, len(values))
	for _, v := range values {
		if l := vals[v].get(); len(l) > 0 {
			lists = append(lists, l)
		}
	}
	return Merge(lists...), nil
}

// LabelValues implements Reader.
func (p *MemPostings) LabelValues(name string) ([]string, error) {
	p.mtx.RLock()
	vals := make([]string, 0, len(p.m[name]))
	for v := range p.m[name] {
		vals = append(vals, v)
	}
	p.mtx.RUnlock()
	slices.Sort(vals)
	return vals, nil
}

// LabelNames returns every label name, sorted.
func (p *MemPostings) LabelNames() []string {
	p.mtx.RLock()
	names := make([]string, 0, len(p.m))
	for n := range p.m {
		names = append(names, n)
	}
	p.mtx.RUnlock()
	slices.Sort(names)
	return names
}

// AllPostings implements Reader.
func (p *MemPostings) AllPostings() ([]uint64, error) {
	p.mtx.RLock()
	defer p.mtx.RUnlock()
	return p.all[:len(p.all):len(p.all)], nil
}

// Range calls f for every label pair with its postings, under the read lock.
func (p *MemPostings) Range(f func(name, value string, refs []uint64)) {
	p.mtx.RLock()
	defer p.mtx.RUnlock()
	for name, vals := range p.m {
		for v, list := range vals {
			f(name, v, list.get())
		}
	}
}

// Select returns the sorted refs of the series matching every matcher. A
// matcher that matches the empty string also selects series without the
// label, so it is applied by subtracting the values it rejects.
func Select(ix Reader, ms ...*labels.Matcher) ([]uint64, error) {
	var result []uint64
	have := false
	// Sort so that cheap, selective equality matchers intersect first.
	ms = slices.Clone(ms)
	sort.SliceStable(ms, func(i, j int) bool { return rank(ms[i]) < rank(ms[j]) })
	for _, m := range ms {
		if m.Matches("") {
			continue
		}
		in, err := matching(ix, m, true)
		if err != nil {
			return nil, err
		}
		if !have {
			result, have = in, true
		} else {
			result = Intersect(result, in)
		}
		if len(result) == 0 {
			return nil, nil
		}
	}
	if !have {
		all, err := ix.AllPostings()
		if err != nil {
			return nil, err
		}
		result = all
	}
	for _, m := range ms {
		if !m.Matches("") {
			continue
		}
		out, err := matching(ix, m, false)
		if err != nil {
			return nil, err
		}
		result = Subtract(result, out)
	}
	return result, nil
}

func rank(m *labels.Matcher) int {
	switch {
	case m.Type == labels.MatchEqual:
		return 0
	case m.Type == labels.MatchRegexp && len(m.SetMatches()) > 0:
		return 1
	case m.Type == labels.MatchRegexp:
		return 2
	}
	return 3
}

// matching returns the union of the postings of the values v of m.Name for
// which m.Matches(v) == want, using the matcher's shape to avoid scanning
// every value where it can.
func matching(ix Reader, m *labels.Matcher, want bool) ([]uint64, error) {
	if want {
		switch m.Type {
		case labels.MatchEqual:
			return ix.Postings(m.Name, m.Value)
		case labels.MatchRegexp:
			if set := m.SetMatches(); len(set) > 0 {
				return ix.Postings(m.Name, set...)
			}
		}
	} else {
		switch m.Type {
		case labels.MatchNotEqual:
			if m.Value == "" {
				return nil, nil
			}
			return ix.Postings(m.Name, m.Value)
		case labels.MatchNotRegexp:
			if set := m.SetMatches(); len(set) > 0 {
				return ix.Postings(m.Name, set...)
			}
		}
	}
	vals, err := ix.LabelValues(m.Name)
	if err != nil {
		return nil, err
	}
	if prefix := m.Prefix(); prefix != "" && (m.Type == labels.MatchRegexp) == want {
		// Values sort, so those with the prefix are one run.
		lo := sort.SearchStrings(vals, prefix)
		hi := lo
		for hi < len(vals) && strings.HasPrefix(vals[hi], prefix) {
			hi++
		}
		vals = vals[lo:hi]
	}
	sel := vals[:0:0]
	for _, v := range vals {
		if m.Matches(v) == want {
			sel = append(sel, v)
		}
	}
	if len(sel) == 0 {
		return nil, nil
	}
	return ix.Postings(m.Name, sel...)
}

// Intersect returns the refs in both sorted lists.
func Intersect(a, b []uint64) []uint64 {
	out := make([]uint64, 0, min(len(a), len(b)))
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch {
		case a[i] < b[j]:
			i++
		case a[i] > b[j]:
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	return out
}

// Subtract returns the refs of sorted a that are not in sorted b.
func Subtract(a, b []uint64) []uint64 {
	if len(b) == 0 {
		return a
	}
	out := make([]uint64, 0, len(a))
	j := 0
	for _, r := range a {
		for j < len(b) && b[j] < r {
			j++
		}
		if j < len(b) && b[j] == r {
			continue
		}
		out = append(out, r)
	}
	return out
}

// Merge returns the sorted union of sorted lists.
func Merge(lists ...[]uint64) []uint64 {
	switch len(lists) {
	case 0:
		return nil
	case 1:
		return lists[0]
	}
	n := 0
	for _, l := range lists {
		n += len(l)
	}
	out := make([]uint64, 0, n)
	for _, l := range lists {
		out = append(out, l...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
