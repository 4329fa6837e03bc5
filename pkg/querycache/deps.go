package querycache

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/storage"
)

// deps is what an evaluation read from storage: series selected by some
// matcher sets over [mint, maxt]. A change outside it cannot change the
// result, so it is what invalidation tests changes against.
type deps struct {
	read       bool // false: nothing read (1+1); no change matters
	mint, maxt int64
	sets       []matcherSet
	// anySeries: something was read other than by matchers (label names
	// or values), so a change to any series counts.
	anySeries bool
}

type matcherSet struct {
	key      string
	matchers []*labels.Matcher
}

func (d *deps) widen(mint, maxt int64) {
	if !d.read {
		d.read, d.mint, d.maxt = true, mint, maxt
		return
	}
	d.mint, d.maxt = min(d.mint, mint), max(d.maxt, maxt)
}

func (d *deps) addSet(ms []*labels.Matcher) {
	var b strings.Builder
	for _, m := range ms {
		b.WriteString(m.String())
		b.WriteByte(0)
	}
	key := b.String()
	if slices.ContainsFunc(d.sets, func(s matcherSet) bool { return s.key == key }) {
		return
	}
	d.sets = append(d.sets, matcherSet{key: key, matchers: ms})
}

// union is what two adjacent evaluations read together.
func (d deps) union(o deps) deps {
	out := deps{anySeries: d.anySeries || o.anySeries, sets: slices.Clone(d.sets)}
	for _, x := range []deps{d, o} {
		if x.read {
			out.widen(x.mint, x.maxt)
		}
	}
	for _, s := range o.sets {
		out.addSet(s.matchers)
	}
	return out
}

// size approximates the memory deps hold.
func (d deps) size() int64 {
	n := int64(64)
	for _, s := range d.sets {
		n += int64(len(s.key)) + 48
	}
	return n
}

// affectedBy says whether a change of the summary can have changed what
// was read: its time range meets [mint, maxt] and it is of every series or
// of a series one of the matcher sets selects.
func (d deps) affectedBy(s *changeSummary) bool {
	if !d.read {
		return false
	}
	for _, iv := range s.all {
		if iv.MinT <= d.maxt && iv.MaxT >= d.mint {
			return true
		}
	}
	for _, c := range s.series {
		if c.MinT <= d.maxt && c.MaxT >= d.mint && (d.anySeries || d.selects(c.Labels)) {
			return true
		}
	}
	return false
}

func (d deps) selects(lset labels.Labels) bool {
	for _, s := range d.sets {
		if matchesAll(s.matchers, lset) {
			return true
		}
	}
	return false
}

func matchesAll(ms []*labels.Matcher, lset labels.Labels) bool {
	for _, m := range ms {
		if !m.Matches(lset.Get(m.Name)) {
			return false
		}
	}
	return true
}

// recorder is the storage as one evaluation sees it: it notes every
// querier's range and every select's matchers into deps.
type recorder struct {
	store storage.Queryable
	mtx   sync.Mutex // selects may run concurrently
	deps  deps
}

func (r *recorder) Querier(mint, maxt int64) (storage.Querier, error) {
	r.mtx.Lock()
	r.deps.widen(mint, maxt)
	r.mtx.Unlock()
	q, err := r.store.Querier(mint, maxt)
	if err != nil {
		return nil, err
	}
	return &recordingQuerier{Querier: q, r: r}, nil
}

func (r *recorder) read() deps {
	r.mtx.Lock()
	defer r.mtx.Unlock()
	return r.deps
}

type recordingQuerier struct {
	storage.Querier
	r *recorder
}

func (q *recordingQuerier) Select(ctx context.Context, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	q.r.mtx.Lock()
	q.r.deps.addSet(ms)
	q.r.mtx.Unlock()
	return q.Querier.Select(ctx, hints, ms...)
}

func (q *recordingQuerier) LabelNames(ctx context.Context, ms ...*labels.Matcher) ([]string, error) {
	q.markAnySeries()
	return q.Querier.LabelNames(ctx, ms...)
}

func (q *recordingQuerier) LabelValues(ctx context.Context, name string, ms ...*labels.Matcher) ([]string, error) {
	q.markAnySeries()
	return q.Querier.LabelValues(ctx, name, ms...)
}

func (q *recordingQuerier) markAnySeries() {
	q.r.mtx.Lock()
	q.r.deps.anySeries = true
	q.r.mtx.Unlock()
}

// ConcurrentReads passes the storage's answer on, so that the engine
// spreads work over cores as it would without the cache.
func (q *recordingQuerier) ConcurrentReads() bool {
	c, ok := q.Querier.(storage.ConcurrentQuerier)
	return ok && c.ConcurrentReads()
}

// changeSummary is a batch of changes prepared for testing many extents:
// changes of every series as merged time intervals, per-series ones as
// they are (folded into the intervals when too many to test one by one).
type changeSummary struct {
	all    []storage.Change
	series []storage.Change
}

// maxSeriesChanges bounds the per-series changes tested against each
// extent; beyond it a large backfill costs over-invalidation, not time.
const maxSeriesChanges = 256

func summarize(changes []storage.Change) *changeSummary {
	s := &changeSummary{}
	for _, c := range changes {
		if c.Labels.IsEmpty() {
			s.all = append(s.all, c)
		} else {
			s.series = append(s.series, c)
		}
	}
	if len(s.series) > maxSeriesChanges {
		s.all, s.series = append(s.all, s.series...), nil
	}
	s.all = mergeIntervals(s.all)
	return s
}

// mergeIntervals sorts time ranges and merges those that overlap.
func mergeIntervals(cs []storage.Change) []storage.Change {
	slices.SortFunc(cs, func(a, b storage.Change) int {
		switch {
		case a.MinT < b.MinT:
			return -1
		case a.MinT > b.MinT:
			return 1
		}
		return 0
	})
	out := cs[:0]
	for _, c := range cs {
		c.Labels = labels.EmptyLabels()
		if n := len(out); n > 0 && c.MinT <= out[n-1].MaxT {
			out[n-1].MaxT = max(out[n-1].MaxT, c.MaxT)
			continue
		}
		out = append(out, c)
	}
	return out
}

func (s *changeSummary) empty() bool { return len(s.all) == 0 && len(s.series) == 0 }
