package promcompat

import (
	"context"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	promstorage "github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/graftlabs/graft/pkg/storage"
)

// FromPrometheus presents a Prometheus queryable (its TSDB, a test storage)
// as a Graft storage.Queryable, so that Graft's engine can read it: the
// benchmarks run both engines over the very same TSDB this way.
func FromPrometheus(q promstorage.Queryable) storage.Queryable {
	return promQueryable{q: q}
}

type promQueryable struct{ q promstorage.Queryable }

func (p promQueryable) Querier(mint, maxt int64) (storage.Querier, error) {
	q, err := p.q.Querier(mint, maxt)
	if err != nil {
		return nil, err
	}
	return promQuerier{q: q}, nil
}

type promQuerier struct{ q promstorage.Querier }

func (p promQuerier) Select(ctx context.Context, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	var h *promstorage.SelectHints
	sorted := true
	if hints != nil {
		h = &promstorage.SelectHints{Start: hints.Start, End: hints.End, Step: hints.Step, Range: hints.Range, Func: hints.Func}
		sorted = !hints.Unsorted
	}
	return promSeriesSet{set: p.q.Select(ctx, sorted, h, ms...)}
}

func (p promQuerier) LabelNames(ctx context.Context, ms ...*labels.Matcher) ([]string, error) {
	v, _, err := p.q.LabelNames(ctx, nil, ms...)
	return v, err
}

func (p promQuerier) LabelValues(ctx context.Context, name string, ms ...*labels.Matcher) ([]string, error) {
	v, _, err := p.q.LabelValues(ctx, name, nil, ms...)
	return v, err
}

func (p promQuerier) Close() error { return p.q.Close() }

type promSeriesSet struct{ set promstorage.SeriesSet }

func (s promSeriesSet) Next() bool         { return s.set.Next() }
func (s promSeriesSet) At() storage.Series { return promSeries{s: s.set.At()} }
func (s promSeriesSet) Err() error         { return s.set.Err() }

type promSeries struct{ s promstorage.Series }

func (s promSeries) Labels() labels.Labels { return s.s.Labels() }

func (s promSeries) Iterator(it storage.Iterator) storage.Iterator {
	if gi, ok := it.(*graftIterator); ok {
		gi.it = s.s.Iterator(gi.it)
		return gi
	}
	return &graftIterator{it: s.s.Iterator(nil)}
}

// graftIterator presents a chunkenc.Iterator as a Graft iterator.
type graftIterator struct{ it chunkenc.Iterator }

func fromChunkenc(t chunkenc.ValueType) storage.ValueType {
	switch t {
	case chunkenc.ValFloat:
		return storage.ValFloat
	case chunkenc.ValHistogram:
		return storage.ValHistogram
	case chunkenc.ValFloatHistogram:
		return storage.ValFloatHistogram
	}
	return storage.ValNone
}

func (g *graftIterator) Next() storage.ValueType          { return fromChunkenc(g.it.Next()) }
func (g *graftIterator) SeekTo(t int64) storage.ValueType { return fromChunkenc(g.it.Seek(t)) }
func (g *graftIterator) At() (int64, float64)             { return g.it.At() }
func (g *graftIterator) AtHistogram(h *histogram.Histogram) (int64, *histogram.Histogram) {
	return g.it.AtHistogram(h)
}

func (g *graftIterator) AtFloatHistogram(fh *histogram.FloatHistogram) (int64, *histogram.FloatHistogram) {
	return g.it.AtFloatHistogram(fh)
}
func (g *graftIterator) AtT() int64  { return g.it.AtT() }
func (g *graftIterator) AtST() int64 { return g.it.AtST() }
func (g *graftIterator) Err() error  { return g.it.Err() }
