package index

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
)

func TestSelectAgreesWithBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	p := NewMemPostings()
	var all []labels.Labels
	for i := range 2000 {
		b := labels.NewScratchBuilder(4)
		b.Add("__name__", fmt.Sprintf("metric_%d", r.IntN(20)))
		b.Add("job", []string{"api", "web", "db", "api-canary"}[r.IntN(4)])
		if r.IntN(3) > 0 {
			b.Add("instance", fmt.Sprintf("host-%02d", r.IntN(30)))
		}
		b.Sort()
		l := b.Labels()
		all = append(all, l)
		p.Add(uint64(i+1), l, nil)
	}
	cases := [][]*labels.Matcher{
		{labels.MustNewMatcher(labels.MatchEqual, "job", "api")},
		{labels.MustNewMatcher(labels.MatchRegexp, "job", "api|db")},
		{labels.MustNewMatcher(labels.MatchRegexp, "job", "api.*")},
		{labels.MustNewMatcher(labels.MatchRegexp, "instance", "host-1.")},
		{labels.MustNewMatcher(labels.MatchNotEqual, "job", "web"), labels.MustNewMatcher(labels.MatchEqual, "__name__", "metric_3")},
		{labels.MustNewMatcher(labels.MatchNotRegexp, "job", "api.*")},
		{labels.MustNewMatcher(labels.MatchNotRegexp, "job", "web|db")},
		{labels.MustNewMatcher(labels.MatchEqual, "instance", "")},
		{labels.MustNewMatcher(labels.MatchNotEqual, "instance", "")},
		{labels.MustNewMatcher(labels.MatchRegexp, "instance", "|host-0.")},
		{labels.MustNewMatcher(labels.MatchRegexp, "__name__", "metric_1.*"), labels.MustNewMatcher(labels.MatchNotRegexp, "instance", "host-2.*")},
		{labels.MustNewMatcher(labels.MatchEqual, "job", "nope")},
		{labels.MustNewMatcher(labels.MatchRegexp, "job", "(?i)API")},
	}
	for _, ms := range cases {
		got, err := Select(p, ms...)
		if err != nil {
			t.Fatal(err)
		}
		var want []uint64
		for i, l := range all {
			ok := true
			for _, m := range ms {
				ok = ok && m.Matches(l.Get(m.Name))
			}
			if ok {
				want = append(want, uint64(i+1))
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%v: %d refs, want %d", ms, len(got), len(want))
		}
	}
	p.Delete(map[uint64]struct{}{1: {}, 2: {}})
	if all, _ := p.AllPostings(); len(all) != 1998 || all[0] != 3 {
		t.Errorf("after delete: %d refs starting %d", len(all), all[0])
	}
}

// Keys stand for label pairs only while the pair is indexed: once its list
// emptied, a key may come back for another pair.
func TestKeyedAddFollowsDeletes(t *testing.T) {
	p := NewMemPostings()
	p.Add(1, labels.FromStrings("a", "x", "b", "y"), []uint64{10, 11})
	p.Add(2, labels.FromStrings("a", "x"), []uint64{10})
	p.Add(3, labels.FromStrings("a", "z"), nil) // unkeyed list
	p.Delete(map[uint64]struct{}{1: {}})
	// b=y emptied: key 11 now stands for a=z, whose list had no key.
	p.Add(4, labels.FromStrings("a", "z"), []uint64{11})
	p.Add(5, labels.FromStrings("a", "x", "b", "w"), []uint64{10, 12})
	for _, c := range []struct {
		name, value string
		want        []uint64
	}{{"a", "x", []uint64{2, 5}}, {"a", "z", []uint64{3, 4}}, {"b", "y", nil}, {"b", "w", []uint64{5}}} {
		if got, _ := p.Postings(c.name, c.value); !slices.Equal(got, c.want) {
			t.Errorf("%s=%s: %v, want %v", c.name, c.value, got, c.want)
		}
	}
}

func TestSetOperations(t *testing.T) {
	a, b := []uint64{1, 3, 5, 7}, []uint64{3, 4, 7, 9}
	if got := Intersect(a, b); !slices.Equal(got, []uint64{3, 7}) {
		t.Error("intersect", got)
	}
	if got := Subtract(a, b); !slices.Equal(got, []uint64{1, 5}) {
		t.Error("subtract", got)
	}
	if got := Merge(a, b); !slices.Equal(got, []uint64{1, 3, 4, 5, 7, 9}) {
		t.Error("merge", got)
	}
}
