package memstore

import (
	"slices"
	"sort"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/storage"
)

// postingsIndex maps label name -> value -> sorted series refs. Refs grow
// monotonically, so appending keeps every list sorted.
type postingsIndex struct {
	m   map[string]map[string][]storage.SeriesRef
	all []storage.SeriesRef
}

func newPostingsIndex() *postingsIndex {
	return &postingsIndex{m: map[string]map[string][]storage.SeriesRef{}}
}

func (p *postingsIndex) add(ref storage.SeriesRef, lset labels.Labels) {
	p.all = append(p.all, ref)
	lset.Range(func(l labels.Label) {
		vals := p.m[l.Name]
		if vals == nil {
			vals = map[string][]storage.SeriesRef{}
			p.m[l.Name] = vals
		}
		vals[l.Value] = append(vals[l.Value], ref)
	})
}

func (p *postingsIndex) remove(gone map[storage.SeriesRef]struct{}) {
	keep := func(list []storage.SeriesRef) []storage.SeriesRef {
		return slices.DeleteFunc(list, func(r storage.SeriesRef) bool {
			_, ok := gone[r]
			return ok
		})
	}
	p.all = keep(p.all)
	for name, vals := range p.m {
		for v, list := range vals {
			if list = keep(list); len(list) == 0 {
				delete(vals, v)
			} else {
				vals[v] = list
			}
		}
		if len(vals) == 0 {
			delete(p.m, name)
		}
	}
}

// sortedNames returns every label name in the index.
func (p *postingsIndex) sortedNames() []string {
	names := make([]string, 0, len(p.m))
	for n := range p.m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// sortedValues returns every value of label name in the index.
func (p *postingsIndex) sortedValues(name string) []string {
	vals := make([]string, 0, len(p.m[name]))
	for v := range p.m[name] {
		vals = append(vals, v)
	}
	sort.Strings(vals)
	return vals
}

// smallCandidates is the size under which a selection checks the labels of
// its candidate series rather than merging postings lists.
const smallCandidates = 64

// selectRefs returns the sorted refs of series matching every matcher;
// lookup returns the labels of a series. A matcher that matches the empty
// string also selects series without the label, so it is applied by
// subtracting the values it rejects (or by checking each candidate's
// label when those values cover many series). Equality matchers go first:
// they are cheap and narrow the set most; once few candidates are left,
// the other matchers check their labels directly. The result may be the
// index's own slice: read it under the store's lock, never change it.
func (p *postingsIndex) selectRefs(ms []*labels.Matcher, lookup func(storage.SeriesRef) labels.Labels) []storage.SeriesRef {
	ms = slices.Clone(ms)
	slices.SortStableFunc(ms, func(a, b *labels.Matcher) int { return matcherCost(a) - matcherCost(b) })
	var result []storage.SeriesRef
	haveResult := false
	owned := false // whether result may be changed in place: it is not the index's
	// Intersections first: they only shrink the set.
	for _, m := range ms {
		if m.Matches("") {
			continue
		}
		if haveResult && len(result) <= smallCandidates {
			result, owned = filterByLabel(result, m, lookup, owned), true
			if len(result) == 0 {
				return nil
			}
			continue
		}
		in := p.union(m, true) // may be the index's own list
		if !haveResult {
			result, haveResult = in, true
		} else {
			result, owned = intersect(result, in), true
		}
		if len(result) == 0 {
			return nil
		}
	}
	if !haveResult {
		result = p.all
	}
	for _, m := range ms {
		if !m.Matches("") {
			continue
		}
		if len(result) <= smallCandidates {
			result, owned = filterByLabel(result, m, lookup, owned), true
			continue
		}
		// Subtracting the series of the values m rejects beats checking
		// every candidate's labels only when those series are few.
		n := p.count(m, false)
		if n == 0 {
			continue
		}
		if n < len(result)/4 {
			result, owned = subtract(result, mergeLists(p.lists(m, false))), true
		} else {
			result, owned = filterByLabel(result, m, lookup, owned), true
		}
	}
	return result
}

// matcherCost orders matchers: equality first, regular expressions last.
func matcherCost(m *labels.Matcher) int {
	switch m.Type {
	case labels.MatchEqual:
		return 0
	case labels.MatchNotEqual:
		return 1
	}
	return 2
}

// filterByLabel keeps the refs whose series' label m.Name matches m, in
// place when the caller owns refs.
func filterByLabel(refs []storage.SeriesRef, m *labels.Matcher, lookup func(storage.SeriesRef) labels.Labels, inPlace bool) []storage.SeriesRef {
	out := refs[:0]
	if !inPlace {
		out = make([]storage.SeriesRef, 0, len(refs))
	}
	for _, r := range refs {
		if m.Matches(lookup(r).Get(m.Name)) {
			out = append(out, r)
		}
	}
	return out
}

// union merges the postings of the values of m.Name for which m.Matches(v)
// equals want.
func (p *postingsIndex) union(m *labels.Matcher, want bool) []storage.SeriesRef {
	if m.Type == labels.MatchEqual && want {
		return p.m[m.Name][m.Value]
	}
	// A label every series has, matched on any value ({__name__!=""}):
	// no merge needed.
	if want && matchesAnyValue(m) && p.count(m, true) == len(p.all) {
		return p.all
	}
	return mergeLists(p.lists(m, want))
}

// matchesAnyValue reports matchers that accept every non-empty value.
func matchesAnyValue(m *labels.Matcher) bool {
	return (m.Type == labels.MatchNotEqual && m.Value == "") || (m.Type == labels.MatchRegexp && m.Value == ".+")
}

// count is the total length of the postings lists of the values of m.Name
// for which m.Matches(v) equals want.
func (p *postingsIndex) count(m *labels.Matcher, want bool) int {
	n := 0
	for v, list := range p.m[m.Name] {
		if m.Matches(v) == want {
			n += len(list)
		}
	}
	return n
}

// lists returns the postings lists of the values of m.Name for which
// m.Matches(v) equals want, and their total length.
func (p *postingsIndex) lists(m *labels.Matcher, want bool) ([][]storage.SeriesRef, int) {
	var (
		out [][]storage.SeriesRef
		n   int
	)
	for v, list := range p.m[m.Name] {
		if m.Matches(v) == want {
			out = append(out, list)
			n += len(list)
		}
	}
	return out, n
}

// mergeLists merges sorted postings lists of total length n into one.
func mergeLists(lists [][]storage.SeriesRef, n int) []storage.SeriesRef {
	if len(lists) == 1 {
		return lists[0]
	}
	out := make([]storage.SeriesRef, 0, n)
	for _, l := range lists {
		out = append(out, l...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func intersect(a, b []storage.SeriesRef) []storage.SeriesRef {
	var out []storage.SeriesRef
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

func subtract(a, b []storage.SeriesRef) []storage.SeriesRef {
	if len(b) == 0 {
		return a
	}
	out := a[:0:0]
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
