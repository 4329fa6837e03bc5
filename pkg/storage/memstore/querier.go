package memstore

import (
	"context"
	"slices"
	"sort"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/storage"
)

type querier struct {
	store      *Store
	mint, maxt int64
}

// Select implements storage.Querier.
func (q *querier) Select(ctx context.Context, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	views, err := q.matching(ctx, ms, hints == nil || !hints.Unsorted)
	if err != nil {
		return storage.ErrSeriesSet{Error: err}
	}
	return &seriesSet{list: views, i: -1}
}

// matching returns snapshots of the matching series that have samples in
// [mint, maxt], sorted by labels when asked (else in creation order).
func (q *querier) matching(ctx context.Context, ms []*labels.Matcher, sorted bool) ([]*seriesView, error) {
	q.store.mtx.RLock()
	refs := q.store.index.selectRefs(ms, q.store.labelsOf)
	series := make([]*memSeries, 0, len(refs))
	for _, r := range refs {
		series = append(series, q.store.byRef[r])
	}
	q.store.mtx.RUnlock()

	views := make([]*seriesView, 0, len(series))
	for i, ms := range series {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if v := q.snapshot(ms); v != nil {
			views = append(views, v)
		}
	}
	// Series created in label order need no sort: check first, it is cheaper.
	less := func(i, j int) bool { return labels.Compare(views[i].lset, views[j].lset) < 0 }
	if sorted && !sort.SliceIsSorted(views, less) {
		sort.Slice(views, less)
	}
	return views, nil
}

// snapshot returns the samples of ms inside [mint, maxt], or nil if none.
// Sample slices are append-only, so the returned sub-slice stays valid.
func (q *querier) snapshot(ms *memSeries) *seriesView {
	ms.mtx.Lock()
	samples := ms.samples
	ms.mtx.Unlock()
	lo := sort.Search(len(samples), func(i int) bool { return samples[i].t >= q.mint })
	hi := sort.Search(len(samples), func(i int) bool { return samples[i].t > q.maxt })
	if lo >= hi {
		return nil
	}
	return &seriesView{lset: ms.lset, samples: samples[lo:hi:hi]}
}

// LabelNames implements storage.Querier.
func (q *querier) LabelNames(ctx context.Context, ms ...*labels.Matcher) ([]string, error) {
	views, err := q.matching(ctx, ms, false)
	if err != nil {
		return nil, err
	}
	seen := map[string]struct{}{}
	for _, v := range views {
		v.lset.Range(func(l labels.Label) { seen[l.Name] = struct{}{} })
	}
	return sortedKeys(seen), nil
}

// LabelValues implements storage.Querier.
func (q *querier) LabelValues(ctx context.Context, name string, ms ...*labels.Matcher) ([]string, error) {
	views, err := q.matching(ctx, ms, false)
	if err != nil {
		return nil, err
	}
	seen := map[string]struct{}{}
	for _, v := range views {
		if val := v.lset.Get(name); val != "" {
			seen[val] = struct{}{}
		}
	}
	return sortedKeys(seen), nil
}

func sortedKeys(m map[string]struct{}) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Close implements storage.Querier.
func (q *querier) Close() error { return nil }

type seriesSet struct {
	list []*seriesView
	i    int
}

func (s *seriesSet) Next() bool         { s.i++; return s.i < len(s.list) }
func (s *seriesSet) At() storage.Series { return s.list[s.i] }
func (s *seriesSet) Err() error         { return nil }

type seriesView struct {
	lset    labels.Labels
	samples []sample
}

func (s *seriesView) Labels() labels.Labels { return s.lset }

func (s *seriesView) Iterator(it storage.Iterator) storage.Iterator {
	if si, ok := it.(*sliceIterator); ok {
		si.samples, si.i = s.samples, -1
		return si
	}
	return &sliceIterator{samples: s.samples, i: -1}
}

type sliceIterator struct {
	samples []sample
	i       int
}

func (it *sliceIterator) Next() storage.ValueType {
	if it.i+1 >= len(it.samples) {
		it.i = len(it.samples)
		return storage.ValNone
	}
	it.i++
	return it.samples[it.i].valueType()
}

func (it *sliceIterator) SeekTo(t int64) storage.ValueType {
	if it.i < 0 {
		it.i = 0
	}
	if it.i >= len(it.samples) {
		return storage.ValNone
	}
	if it.samples[it.i].t < t {
		rest := it.samples[it.i:]
		it.i += sort.Search(len(rest), func(j int) bool { return rest[j].t >= t })
	}
	if it.i >= len(it.samples) {
		return storage.ValNone
	}
	return it.samples[it.i].valueType()
}

func (it *sliceIterator) At() (int64, float64) { s := it.samples[it.i]; return s.t, s.v }

// AtHistogram returns a copy, so that callers may modify it.
func (it *sliceIterator) AtHistogram(h *histogram.Histogram) (int64, *histogram.Histogram) {
	s := it.samples[it.i]
	if h == nil {
		return s.t, s.h.Copy()
	}
	s.h.CopyTo(h)
	return s.t, h
}

// AtFloatHistogram returns a copy of the float form of the histogram.
func (it *sliceIterator) AtFloatHistogram(fh *histogram.FloatHistogram) (int64, *histogram.FloatHistogram) {
	s := it.samples[it.i]
	if fh == nil {
		return s.t, s.fh.Copy()
	}
	s.fh.CopyTo(fh)
	return s.t, fh
}

func (it *sliceIterator) AtT() int64 { return it.samples[it.i].t }

// AtST implements storage.StartTimestampIterator.
func (it *sliceIterator) AtST() int64 { return it.samples[it.i].st }
func (it *sliceIterator) Err() error  { return nil }

// ConcurrentReads implements storage.ConcurrentQuerier: series are
// immutable snapshots, readable from any number of goroutines.
func (q *querier) ConcurrentReads() bool { return true }
