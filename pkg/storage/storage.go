// Package storage defines the interfaces between Graft's time-series database
// and everything that writes to it (scrape loops, rules, remote write) or reads
// from it (the PromQL engine, the HTTP API). It knows nothing of PromQL, HTTP or
// Grafana. Implementations live in sub-packages.
package storage

import (
	"context"
	"errors"

	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
)

// SeriesRef is an opaque handle to a series inside one storage. Appenders
// return it so that callers (scrape loops) can skip the label lookup on the
// next append of the same series. Zero means "unknown".
type SeriesRef uint64

// Errors an Appender returns for samples it refuses. Callers count them per
// reason; none of them poisons the rest of the batch.
var (
	ErrOutOfOrderSample   = errors.New("out of order sample")
	ErrDuplicateSample    = errors.New("duplicate sample for timestamp")
	ErrOutOfBounds        = errors.New("out of bounds")
	ErrEmptyLabels        = errors.New("empty label set")
	ErrDuplicateLabelName = errors.New("label set has duplicate label names")
	// ErrInvalidHistogram refuses a histogram sample that is neither an
	// integer nor a float histogram, or that fails validation.
	ErrInvalidHistogram = errors.New("invalid histogram")
	// ErrOutOfOrderExemplar refuses an exemplar older than the newest one of
	// its series. An exact repeat of the newest is accepted and ignored.
	ErrOutOfOrderExemplar = errors.New("out of order exemplar")
	// ErrExemplarLabelLength refuses exemplar labels longer than the
	// OpenMetrics limit of 128 UTF-8 characters (names and values together).
	ErrExemplarLabelLength = errors.New("exemplar labels exceed 128 characters")
)

// Appender collects samples and makes them visible atomically on Commit.
// An Appender is used by one goroutine; many Appenders may be open at once.
type Appender interface {
	// Append adds a float sample for the series lset at timestamp t
	// (milliseconds). ref is a hint returned by an earlier Append for the
	// same series, or 0. The returned ref can be reused for later appends.
	Append(ref SeriesRef, lset labels.Labels, t int64, v float64) (SeriesRef, error)
	// AppendHistogram adds a native histogram sample. Exactly one of h and
	// fh is set; the appender may keep the pointer until Commit, so the
	// caller must not modify it afterwards.
	AppendHistogram(ref SeriesRef, lset labels.Labels, t int64, h *histogram.Histogram, fh *histogram.FloatHistogram) (SeriesRef, error)
	// AppendExemplar attaches an exemplar (trace id and other labels) to a
	// series. It becomes visible with the samples, on Commit.
	AppendExemplar(ref SeriesRef, lset labels.Labels, e exemplar.Exemplar) (SeriesRef, error)
	// Commit makes every appended sample visible to queriers.
	Commit() error
	// Rollback discards every sample appended since the last Commit.
	Rollback() error
}

// StartTimestampAppender is implemented by appenders of storages that keep
// each sample's start timestamp (the OpenMetrics created timestamp, or the
// start of an OTLP cumulative or delta interval). st is in ms; 0 means
// unknown. Exactly one of v, h, fh carries the value: fh when set, else h
// when set, else v. Storages without it keep no start timestamps.
type StartTimestampAppender interface {
	AppendWithStartTimestamp(ref SeriesRef, lset labels.Labels, st, t int64, v float64, h *histogram.Histogram, fh *histogram.FloatHistogram) (SeriesRef, error)
}

// AppendSample appends one float (h and fh nil) or histogram sample with
// its start timestamp st when st is known and app keeps start timestamps,
// without it otherwise.
func AppendSample(app Appender, ref SeriesRef, lset labels.Labels, st, t int64, v float64, h *histogram.Histogram, fh *histogram.FloatHistogram) (SeriesRef, error) {
	if sa, ok := app.(StartTimestampAppender); ok && st != 0 {
		return sa.AppendWithStartTimestamp(ref, lset, st, t, v, h, fh)
	}
	switch {
	case fh != nil:
		return app.AppendHistogram(ref, lset, t, nil, fh)
	case h != nil:
		return app.AppendHistogram(ref, lset, t, h, nil)
	}
	return app.Append(ref, lset, t, v)
}

// Appendable hands out appenders.
type Appendable interface {
	Appender(ctx context.Context) Appender
}

// SelectHints tell the storage what the reader will do with the data, so that
// later implementations can push work down (resolution choice, ranges).
type SelectHints struct {
	Start int64 // Earliest timestamp the reader needs, in ms.
	End   int64 // Latest timestamp the reader needs, in ms.
	Step  int64 // Query step in ms; 0 for instant queries.
	Range int64 // Range of the enclosing range selector in ms, if any.
	Func  string
	// MaxResolution is the coarsest resolution (ms between points) of
	// downsampled data the reader accepts for this select; 0 reads raw
	// samples only. Storages without downsampled data ignore it. With
	// downsampled data, Func chooses the aggregate returned (min, max,
	// sum, count, a counter for rate and increase, else the average).
	MaxResolution int64
	// Unsorted says the caller does not need the series in label order:
	// a storage may then skip sorting them (like Prometheus's sortSeries
	// false). Storages are free to sort anyway.
	Unsorted bool
}

// Querier reads series over a fixed time range [mint, maxt]. The series it
// returns, and their iterators, may read memory the querier holds (a
// block's mapped files): they are valid until Close. Labels stay valid.
type Querier interface {
	// Select returns the series matching all matchers, sorted by labels
	// unless hints say Unsorted.
	Select(ctx context.Context, hints *SelectHints, matchers ...*labels.Matcher) SeriesSet
	// LabelNames returns the sorted label names of series matching matchers
	// (all series when matchers is empty).
	LabelNames(ctx context.Context, matchers ...*labels.Matcher) ([]string, error)
	// LabelValues returns the sorted values of label name among series
	// matching matchers (all series when matchers is empty).
	LabelValues(ctx context.Context, name string, matchers ...*labels.Matcher) ([]string, error)
	Close() error
}

// Queryable opens queriers.
type Queryable interface {
	Querier(mint, maxt int64) (Querier, error)
}

// SeriesSet iterates over series.
type SeriesSet interface {
	Next() bool
	At() Series
	Err() error
}

// Series is one labelled stream of samples.
type Series interface {
	Labels() labels.Labels
	// Iterator returns an iterator over the samples. it may be an iterator
	// returned earlier, to be reused.
	Iterator(it Iterator) Iterator
}

// ValueType says what kind of sample an Iterator stopped at.
type ValueType uint8

// The kinds of samples.
const (
	ValNone ValueType = iota
	ValFloat
	ValHistogram      // integer native histogram
	ValFloatHistogram // float native histogram
)

func (v ValueType) String() string {
	switch v {
	case ValFloat:
		return "float"
	case ValHistogram:
		return "histogram"
	case ValFloatHistogram:
		return "floathistogram"
	}
	return "none"
}

// Iterator walks the samples of one series in timestamp order.
type Iterator interface {
	// Next advances to the next sample and returns its type, ValNone at the end.
	Next() ValueType
	// SeekTo advances to the first sample with timestamp >= t. It never moves
	// backwards: if the current sample already satisfies t, it stays there.
	SeekTo(t int64) ValueType
	// At returns the current float sample (after Next returned ValFloat).
	At() (t int64, v float64)
	// AtHistogram returns the current integer histogram (after ValHistogram).
	// h, if not nil, may be overwritten and returned to save allocations.
	AtHistogram(h *histogram.Histogram) (int64, *histogram.Histogram)
	// AtFloatHistogram returns the current histogram as a float histogram
	// (after ValHistogram or ValFloatHistogram). fh may be reused likewise.
	AtFloatHistogram(fh *histogram.FloatHistogram) (int64, *histogram.FloatHistogram)
	// AtT returns the timestamp of the current sample.
	AtT() int64
	Err() error
}

// StartTimestampIterator is implemented by iterators of storages that keep
// start timestamps: AtST returns the start timestamp (ms, 0 when unknown) of
// the current sample. The engine reads it through a type assertion.
type StartTimestampIterator interface {
	AtST() int64
}

// NewestIterator is implemented by iterators that can position on the
// newest sample at or before a time without reading the samples before it,
// where their storage keeps it at hand (a TSDB's open chunk knows its last
// sample). Instant selectors evaluated at the newest data (rules, instant
// queries) then skip the lookback's decoding.
type NewestIterator interface {
	// SeekNewest positions an iterator that has not moved yet on the
	// newest sample with timestamp <= t, and returns its type and true.
	// It returns false, leaving the iterator as it was, when it cannot do
	// so cheaply or there is no such sample; the caller then seeks.
	SeekNewest(t int64) (ValueType, bool)
}

// FloatBatchIterator is implemented by iterators that decode float
// samples in batches: readers may take them a batch at a time instead of
// one Next and At per sample.
type FloatBatchIterator interface {
	// Floats returns the current sample, a float, and the float samples
	// after it that are decoded already, and leaves the iterator on the
	// last of them; nil when it has none at hand. The slices are valid
	// until the iterator moves.
	Floats() (ts []int64, vs []float64)
}

// ExemplarQueryable opens exemplar queriers.
type ExemplarQueryable interface {
	ExemplarQuerier(ctx context.Context) (ExemplarQuerier, error)
}

// ExemplarQuerier reads exemplars.
type ExemplarQuerier interface {
	// Select returns the exemplars in [start, end] (ms) of the series that
	// match any of the matcher sets, grouped by series, each group in time order.
	Select(start, end int64, matchers ...[]*labels.Matcher) ([]exemplar.QueryResult, error)
}

// Stats describes the content of a storage for health and self-monitoring.
type Stats struct {
	NumSeries uint64
	// NumSamples is the number of samples currently held.
	NumSamples uint64
	// MinTime and MaxTime bound the stored samples (ms); both are 0 when empty.
	MinTime, MaxTime int64
}

// Storage is a complete storage engine.
type Storage interface {
	Appendable
	Queryable
	ExemplarQueryable
	Stats() Stats
	Close() error
}

// ConcurrentQuerier is implemented by queriers whose series may be read
// from several goroutines at once (each iterator by one goroutine). The
// engine spreads per-series work over cores only for those; Prometheus's
// TSDB, for one, caches chunk lookups per querier without locks.
type ConcurrentQuerier interface {
	ConcurrentReads() bool
}
