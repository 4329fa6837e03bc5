package promql_test

import (
	"context"
	"testing"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/promqltest"
	promstorage "github.com/prometheus/prometheus/storage"

	"github.com/graftlabs/graft/pkg/promql/promcompat"
	"github.com/graftlabs/graft/pkg/storage"
	"github.com/graftlabs/graft/pkg/storage/memstore"
)

// TestHistogramsSurviveIteratorReuse runs histograms with custom bucket
// bounds through a storage whose iterators copy the bounds into the
// histogram they are handed (as a storage may, to save allocations). The
// engine recycles histograms it read; results must not change when the
// next series is read into a recycled one whose bounds it shared.
func TestHistogramsSurviveIteratorReuse(t *testing.T) {
	script := `
load_with_nhcb 5m
	h_bucket{le="0", start="positive"}	0+0x10
	h_bucket{le="0.1", start="positive"}	0+5x10
	h_bucket{le=".2", start="positive"}	0+7x10
	h_bucket{le="1e0", start="positive"}	0+11x10
	h_bucket{le="+Inf", start="positive"}	0+11x10
	h_sum{start="positive"}	0+33x10
	h_count{start="positive"}	0+11x10
	h_bucket{le="-.25", start="negative"}	0+0x10
	h_bucket{le="-.2", start="negative"}	0+1x10
	h_bucket{le="-0.1", start="negative"}	0+2x10
	h_bucket{le="0.3", start="negative"}	0+2x10
	h_bucket{le="+Inf", start="negative"}	0+2x10
	h_sum{start="negative"}	0+8x10
	h_count{start="negative"}	0+2x10

eval instant at 50m histogram_stddev(h)
	{start="positive"} 2.7435461458749795
	{start="negative"} 4.187667907081458

eval instant at 50m histogram_quantile(0.25, h)
	{start="positive"} 0.055
	{start="negative"} -0.225

eval instant at 50m histogram_fraction(0, 0.2, rate(h[10m]))
	{start="positive"} 0.6363636363636364
	{start="negative"} 0
`
	newStorage := func(testing.TB) promstorage.Storage {
		return promcompat.NewStorage(boundsCopyingStorage{memstore.New()})
	}
	promqltest.RunTestWithStorage(t, script, upstreamEngine(), newStorage)
}

// boundsCopyingStorage hands out iterators that write custom bucket bounds
// into the histograms they are given instead of sharing their own.
type boundsCopyingStorage struct{ *memstore.Store }

func (s boundsCopyingStorage) Querier(mint, maxt int64) (storage.Querier, error) {
	q, err := s.Store.Querier(mint, maxt)
	return boundsCopyingQuerier{q}, err
}

type boundsCopyingQuerier struct{ storage.Querier }

func (q boundsCopyingQuerier) Select(ctx context.Context, h *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	return boundsCopyingSet{q.Querier.Select(ctx, h, ms...)}
}

type boundsCopyingSet struct{ storage.SeriesSet }

func (s boundsCopyingSet) At() storage.Series { return boundsCopyingSeries{s.SeriesSet.At()} }

type boundsCopyingSeries struct{ storage.Series }

func (s boundsCopyingSeries) Iterator(storage.Iterator) storage.Iterator {
	return &boundsCopyingIterator{Iterator: s.Series.Iterator(nil)}
}

type boundsCopyingIterator struct{ storage.Iterator }

func (it *boundsCopyingIterator) AtFloatHistogram(fh *histogram.FloatHistogram) (int64, *histogram.FloatHistogram) {
	var bounds []float64
	if fh != nil {
		bounds = fh.CustomValues[:0]
	}
	t, got := it.Iterator.AtFloatHistogram(fh)
	if len(got.CustomValues) > 0 {
		got.CustomValues = append(bounds, got.CustomValues...)
	}
	return t, got
}
