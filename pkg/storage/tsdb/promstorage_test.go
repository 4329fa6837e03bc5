package tsdb

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/metadata"
	"github.com/prometheus/prometheus/promql/promqltest"
	promstorage "github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/util/annotations"

	"github.com/graftlabs/graft/pkg/storage"
	"github.com/graftlabs/graft/pkg/storage/tsdb/wal"
)

// promStorage presents a DB as Prometheus's storage.Storage, for tests
// only: it lets Prometheus's own test suites read and write Graft's TSDB.
// (pkg/promql/promcompat holds the production adapter of the PromQL work;
// this one exists so that the storage is tested on its own.)
type promStorage struct {
	db *DB
	// flush writes the head to blocks after each commit.
	flush bool
}

var _ promstorage.Storage = promStorage{}

func (p promStorage) Querier(mint, maxt int64) (promstorage.Querier, error) {
	q, err := p.db.Querier(mint, maxt)
	return promQuerier{q}, err
}

func (p promStorage) ChunkQuerier(int64, int64) (promstorage.ChunkQuerier, error) {
	return nil, errors.New("chunk queriers are not supported")
}

func (p promStorage) Appender(ctx context.Context) promstorage.Appender {
	return &promAppender{app: p.db.Appender(ctx), s: p}
}

func (p promStorage) AppenderV2(ctx context.Context) promstorage.AppenderV2 {
	return promAppenderV2{&promAppender{app: p.db.Appender(ctx), s: p}}
}

func (p promStorage) StartTime() (int64, error) { return p.db.Stats().MinTime, nil }
func (p promStorage) Close() error              { return p.db.Close() }

type promQuerier struct{ q storage.Querier }

func (p promQuerier) Select(ctx context.Context, _ bool, h *promstorage.SelectHints, ms ...*labels.Matcher) promstorage.SeriesSet {
	var hints *storage.SelectHints
	if h != nil {
		hints = &storage.SelectHints{Start: h.Start, End: h.End, Step: h.Step, Range: h.Range, Func: h.Func}
	}
	return promSeriesSet{p.q.Select(ctx, hints, ms...)} // always sorted
}

func (p promQuerier) LabelValues(ctx context.Context, name string, h *promstorage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	v, err := p.q.LabelValues(ctx, name, ms...)
	return limit(v, h), nil, err
}

func (p promQuerier) LabelNames(ctx context.Context, h *promstorage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	v, err := p.q.LabelNames(ctx, ms...)
	return limit(v, h), nil, err
}

func limit(v []string, h *promstorage.LabelHints) []string {
	if h != nil && h.Limit > 0 && len(v) > h.Limit {
		return v[:h.Limit]
	}
	return v
}

func (p promQuerier) Close() error { return p.q.Close() }

type promSeriesSet struct{ s storage.SeriesSet }

func (p promSeriesSet) Next() bool                        { return p.s.Next() }
func (p promSeriesSet) At() promstorage.Series            { return promSeries{p.s.At()} }
func (p promSeriesSet) Err() error                        { return p.s.Err() }
func (p promSeriesSet) Warnings() annotations.Annotations { return nil }

type promSeries struct{ s storage.Series }

func (p promSeries) Labels() labels.Labels { return p.s.Labels() }

// Iterator reads the series into a list that Prometheus's list iterator
// walks: an adapter type would need a method named Seek with chunkenc's
// signature, which go vet refuses as a misspelt io.Seeker. Integer
// histograms are handed out as float histograms, as that iterator does.
func (p promSeries) Iterator(chunkenc.Iterator) chunkenc.Iterator {
	it := p.s.Iterator(nil)
	st := it.(storage.StartTimestampIterator)
	var list sampleList
	for vt := it.Next(); vt != storage.ValNone; vt = it.Next() {
		smp := listSample{typ: chunkenc.ValFloat, st: st.AtST()}
		if vt == storage.ValFloat {
			smp.t, smp.f = it.At()
		} else {
			smp.typ = chunkenc.ValFloatHistogram
			smp.t, smp.fh = it.AtFloatHistogram(nil)
		}
		list = append(list, smp)
	}
	if err := it.Err(); err != nil {
		return errIterator{chunkenc.NewNopIterator(), err}
	}
	return promstorage.NewListSeriesIterator(list)
}

type errIterator struct {
	chunkenc.Iterator
	err error
}

func (e errIterator) Err() error { return e.err }

type sampleList []listSample

func (l sampleList) Get(i int) chunks.Sample { return l[i] }
func (l sampleList) Len() int                { return len(l) }

type listSample struct {
	typ   chunkenc.ValueType
	t, st int64
	f     float64
	fh    *histogram.FloatHistogram
}

func (s listSample) T() int64                      { return s.t }
func (s listSample) ST() int64                     { return s.st }
func (s listSample) F() float64                    { return s.f }
func (s listSample) H() *histogram.Histogram       { return nil }
func (s listSample) FH() *histogram.FloatHistogram { return s.fh }
func (s listSample) Type() chunkenc.ValueType      { return s.typ }
func (s listSample) Copy() chunks.Sample {
	c := s
	if s.fh != nil {
		c.fh = s.fh.Copy()
	}
	return c
}

// promAppender is both of Prometheus's appender interfaces over a Graft
// appender. Metadata is not stored; start timestamps are, through the
// second interface (the first's zero samples are not stored).
type promAppender struct {
	app storage.Appender
	s   promStorage
}

func (p *promAppender) Append(ref promstorage.SeriesRef, l labels.Labels, t int64, v float64) (promstorage.SeriesRef, error) {
	r, err := p.app.Append(storage.SeriesRef(ref), l, t, v)
	return promstorage.SeriesRef(r), err
}

func (p *promAppender) AppendHistogram(ref promstorage.SeriesRef, l labels.Labels, t int64, h *histogram.Histogram, fh *histogram.FloatHistogram) (promstorage.SeriesRef, error) {
	r, err := p.app.AppendHistogram(storage.SeriesRef(ref), l, t, h, fh)
	return promstorage.SeriesRef(r), err
}

func (p *promAppender) AppendExemplar(ref promstorage.SeriesRef, l labels.Labels, e exemplar.Exemplar) (promstorage.SeriesRef, error) {
	r, err := p.app.AppendExemplar(storage.SeriesRef(ref), l, e)
	return promstorage.SeriesRef(r), err
}

func (p *promAppender) AppendHistogramSTZeroSample(ref promstorage.SeriesRef, _ labels.Labels, _, _ int64, _ *histogram.Histogram, _ *histogram.FloatHistogram) (promstorage.SeriesRef, error) {
	return ref, nil
}

func (p *promAppender) AppendSTZeroSample(ref promstorage.SeriesRef, _ labels.Labels, _, _ int64) (promstorage.SeriesRef, error) {
	return ref, nil
}

func (p *promAppender) UpdateMetadata(ref promstorage.SeriesRef, _ labels.Labels, _ metadata.Metadata) (promstorage.SeriesRef, error) {
	return ref, nil
}

func (p *promAppender) SetOptions(*promstorage.AppendOptions) {}
func (p *promAppender) Commit() error {
	if err := p.app.Commit(); err != nil || !p.s.flush {
		return err
	}
	return p.s.db.FlushHead(context.Background())
}
func (p *promAppender) Rollback() error { return p.app.Rollback() }

// promAppenderV2 is Prometheus's second appender interface.
type promAppenderV2 struct{ a *promAppender }

func (p promAppenderV2) Commit() error   { return p.a.Commit() }
func (p promAppenderV2) Rollback() error { return p.a.Rollback() }

// Append implements AppenderV2, start timestamp included.
func (p promAppenderV2) Append(ref promstorage.SeriesRef, l labels.Labels, st, t int64, v float64, h *histogram.Histogram, fh *histogram.FloatHistogram, opts promstorage.AppendV2Options) (promstorage.SeriesRef, error) {
	a := p.a
	sr, err := a.app.(storage.StartTimestampAppender).AppendWithStartTimestamp(storage.SeriesRef(ref), l, st, t, v, h, fh)
	r := promstorage.SeriesRef(sr)
	if err != nil {
		return r, err
	}
	for _, e := range opts.Exemplars {
		if _, err := a.AppendExemplar(r, l, e); err != nil {
			return r, err
		}
	}
	return r, nil
}

// Prometheus's PromQL test suite, with Prometheus's engine, over Graft's
// TSDB: every expected result is computed from what the storage returns.
// The data is read from the head, and again from blocks: there, every
// commit is written to blocks at once, later loads arrive as late samples
// and compaction merges the blocks they overlap.
func TestPrometheusQueryTestsOverGraftStorage(t *testing.T) {
	if testing.Short() {
		t.Skip("the suite takes a while")
	}
	for _, mode := range []string{"head", "blocks"} {
		t.Run(mode, func(t *testing.T) {
			engine := promqltest.NewTestEngine(t, false, 0, promqltest.DefaultMaxSamplesPerQuery)
			promqltest.RunBuiltinTestsWithStorage(t, engine, func(tb testing.TB) promstorage.Storage {
				opts := Options{Fsync: wal.FsyncSegment, MaintenanceInterval: time.Hour}
				if mode == "blocks" {
					opts.BlockRange, opts.OutOfOrderTimeWindow = 24*time.Hour, math.MaxInt64
				}
				db, err := Open(tb.TempDir(), opts)
				if err != nil {
					tb.Fatal(err)
				}
				return promStorage{db: db, flush: mode == "blocks"}
			})
		})
	}
}
