// Package promcompat adapts Graft's engine and storage to the interfaces of
// the Prometheus module (promql.QueryEngine, storage.Storage) and back, so
// that Prometheus's own test suite (promql/promqltest), its engine and its
// TSDB can be run against, or beside, Graft's. Only tests and benchmarks
// import it.
package promcompat

import (
	"context"
	"errors"
	"fmt"

	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/metadata"
	promstorage "github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/util/annotations"

	"github.com/graftlabs/graft/pkg/storage"
)

// Storage presents any Graft storage.Storage as a Prometheus storage.Storage.
// Start timestamps reach the Graft storage when it implements
// storage.StartTimestampAppender.
type Storage struct {
	graft storage.Storage
}

var _ promstorage.Storage = (*Storage)(nil)

// NewStorage wraps s.
func NewStorage(s storage.Storage) *Storage { return &Storage{graft: s} }

// Graft returns the wrapped storage.
func (s *Storage) Graft() storage.Storage { return s.graft }

// Querier implements storage.Queryable.
func (s *Storage) Querier(mint, maxt int64) (promstorage.Querier, error) {
	q, err := s.graft.Querier(mint, maxt)
	if err != nil {
		return nil, err
	}
	return &querier{q: q}, nil
}

// ErrNoChunks is returned by ChunkQuerier: Graft's storage interfaces hand
// out samples, not encoded chunks.
var ErrNoChunks = errors.New("promcompat: chunk queries are not supported")

// ChunkQuerier implements storage.ChunkQueryable; it is not supported.
func (s *Storage) ChunkQuerier(int64, int64) (promstorage.ChunkQuerier, error) {
	return nil, ErrNoChunks
}

// Appender implements storage.Appendable.
func (s *Storage) Appender(ctx context.Context) promstorage.Appender {
	return &appender{app: s.graft.Appender(ctx)}
}

// AppenderV2 implements storage.AppendableV2.
func (s *Storage) AppenderV2(ctx context.Context) promstorage.AppenderV2 {
	return &appenderV2{app: s.graft.Appender(ctx)}
}

// StartTime implements storage.Storage: the oldest stored sample.
func (s *Storage) StartTime() (int64, error) {
	return s.graft.Stats().MinTime, nil
}

// Close implements storage.Storage.
func (s *Storage) Close() error { return s.graft.Close() }

type querier struct{ q storage.Querier }

func (q *querier) Select(ctx context.Context, sortSeries bool, hints *promstorage.SelectHints, ms ...*labels.Matcher) promstorage.SeriesSet {
	h := &storage.SelectHints{Unsorted: !sortSeries}
	if hints != nil {
		h.Start, h.End, h.Step, h.Range, h.Func = hints.Start, hints.End, hints.Step, hints.Range, hints.Func
	}
	return &seriesSet{set: q.q.Select(ctx, h, ms...)}
}

func (q *querier) LabelValues(ctx context.Context, name string, _ *promstorage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	v, err := q.q.LabelValues(ctx, name, ms...)
	return v, nil, err
}

func (q *querier) LabelNames(ctx context.Context, _ *promstorage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	v, err := q.q.LabelNames(ctx, ms...)
	return v, nil, err
}

func (q *querier) Close() error { return q.q.Close() }

type seriesSet struct{ set storage.SeriesSet }

func (s *seriesSet) Next() bool                        { return s.set.Next() }
func (s *seriesSet) At() promstorage.Series            { return series{s.set.At()} }
func (s *seriesSet) Err() error                        { return s.set.Err() }
func (s *seriesSet) Warnings() annotations.Annotations { return nil }

type series struct{ s storage.Series }

func (s series) Labels() labels.Labels { return s.s.Labels() }

// Iterator reads the whole series into a list that Prometheus's own list
// iterator walks. (An adapter type would need a method named Seek with
// chunkenc's signature, which go vet rejects as a misspelt io.Seeker.)
// Copying is fine for what this adapter serves: test suites.
func (s series) Iterator(chunkenc.Iterator) chunkenc.Iterator {
	it := s.s.Iterator(nil)
	st, _ := it.(storage.StartTimestampIterator)
	var list sampleList
	for typ := it.Next(); typ != storage.ValNone; typ = it.Next() {
		smp := graftSample{typ: typ}
		switch typ {
		case storage.ValFloat:
			smp.t, smp.f = it.At()
		case storage.ValHistogram:
			// Prometheus's list iterator hands out float histograms only.
			smp.typ = storage.ValFloatHistogram
			smp.t, smp.fh = it.AtFloatHistogram(nil)
		default:
			smp.t, smp.fh = it.AtFloatHistogram(nil)
		}
		if st != nil {
			smp.st = st.AtST()
		}
		list = append(list, smp)
	}
	if err := it.Err(); err != nil {
		return errIterator{Iterator: chunkenc.NewNopIterator(), err: err}
	}
	return promstorage.NewListSeriesIterator(list)
}

type sampleList []graftSample

func (l sampleList) Get(i int) chunks.Sample { return l[i] }
func (l sampleList) Len() int                { return len(l) }

// graftSample is one sample read from a Graft iterator.
type graftSample struct {
	typ   storage.ValueType
	t, st int64
	f     float64
	h     *histogram.Histogram
	fh    *histogram.FloatHistogram
}

func (s graftSample) T() int64                      { return s.t }
func (s graftSample) ST() int64                     { return s.st }
func (s graftSample) F() float64                    { return s.f }
func (s graftSample) H() *histogram.Histogram       { return s.h }
func (s graftSample) FH() *histogram.FloatHistogram { return s.fh }
func (s graftSample) Type() chunkenc.ValueType      { return toChunkenc(s.typ) }

func (s graftSample) Copy() chunks.Sample {
	c := s
	if s.h != nil {
		c.h = s.h.Copy()
	}
	if s.fh != nil {
		c.fh = s.fh.Copy()
	}
	return c
}

func toChunkenc(t storage.ValueType) chunkenc.ValueType {
	switch t {
	case storage.ValFloat:
		return chunkenc.ValFloat
	case storage.ValHistogram:
		return chunkenc.ValHistogram
	case storage.ValFloatHistogram:
		return chunkenc.ValFloatHistogram
	}
	return chunkenc.ValNone
}

// errIterator reports a read error through an empty iterator.
type errIterator struct {
	chunkenc.Iterator
	err error
}

func (e errIterator) Err() error { return e.err }

// appender adapts Prometheus's first appender interface.
type appender struct{ app storage.Appender }

func (a *appender) Append(ref promstorage.SeriesRef, l labels.Labels, t int64, v float64) (promstorage.SeriesRef, error) {
	r, err := a.app.Append(storage.SeriesRef(ref), l, t, v)
	return promstorage.SeriesRef(r), translateErr(err)
}

func (*appender) SetOptions(*promstorage.AppendOptions) {}

func (a *appender) AppendExemplar(ref promstorage.SeriesRef, l labels.Labels, e exemplar.Exemplar) (promstorage.SeriesRef, error) {
	r, err := a.app.AppendExemplar(storage.SeriesRef(ref), l, e)
	return promstorage.SeriesRef(r), translateErr(err)
}

func (a *appender) AppendHistogram(ref promstorage.SeriesRef, l labels.Labels, t int64, h *histogram.Histogram, fh *histogram.FloatHistogram) (promstorage.SeriesRef, error) {
	r, err := a.app.AppendHistogram(storage.SeriesRef(ref), l, t, h, fh)
	return promstorage.SeriesRef(r), translateErr(err)
}

// AppendHistogramSTZeroSample is accepted and ignored: Graft keeps start
// timestamps on samples, not as synthetic zero samples.
func (*appender) AppendHistogramSTZeroSample(ref promstorage.SeriesRef, _ labels.Labels, _, _ int64, _ *histogram.Histogram, _ *histogram.FloatHistogram) (promstorage.SeriesRef, error) {
	return ref, nil
}

// UpdateMetadata is accepted and ignored.
func (*appender) UpdateMetadata(ref promstorage.SeriesRef, _ labels.Labels, _ metadata.Metadata) (promstorage.SeriesRef, error) {
	return ref, nil
}

// AppendSTZeroSample is accepted and ignored, like AppendHistogramSTZeroSample.
func (*appender) AppendSTZeroSample(ref promstorage.SeriesRef, _ labels.Labels, _, _ int64) (promstorage.SeriesRef, error) {
	return ref, nil
}

func (a *appender) Commit() error   { return a.app.Commit() }
func (a *appender) Rollback() error { return a.app.Rollback() }

// appenderV2 adapts Prometheus's second appender interface, which carries
// start timestamps and exemplars with each sample.
type appenderV2 struct{ app storage.Appender }

func (a *appenderV2) Append(ref promstorage.SeriesRef, ls labels.Labels, st, t int64, v float64, h *histogram.Histogram, fh *histogram.FloatHistogram, opts promstorage.AppendV2Options) (promstorage.SeriesRef, error) {
	r, err := storage.AppendSample(a.app, storage.SeriesRef(ref), ls, st, t, v, h, fh)
	if err != nil {
		return promstorage.SeriesRef(r), translateErr(err)
	}
	for _, e := range opts.Exemplars {
		if _, err := a.app.AppendExemplar(r, ls, e); err != nil {
			return promstorage.SeriesRef(r), fmt.Errorf("appending exemplar: %w", err)
		}
	}
	return promstorage.SeriesRef(r), nil
}

func (a *appenderV2) Commit() error   { return a.app.Commit() }
func (a *appenderV2) Rollback() error { return a.app.Rollback() }

// translateErr maps Graft's append errors onto Prometheus's.
func translateErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, storage.ErrOutOfOrderSample):
		return fmt.Errorf("%w: %w", promstorage.ErrOutOfOrderSample, err)
	case errors.Is(err, storage.ErrDuplicateSample):
		return fmt.Errorf("%w: %w", promstorage.ErrDuplicateSampleForTimestamp, err)
	case errors.Is(err, storage.ErrOutOfBounds):
		return fmt.Errorf("%w: %w", promstorage.ErrOutOfBounds, err)
	}
	return err
}
