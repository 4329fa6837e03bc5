package remote

import (
	"context"
	"sync"

	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/storage"
)

// Batch is what one commit stored: the samples and exemplars the storage
// accepted, in append order.
type Batch struct {
	Samples   []Sample
	Exemplars []Exemplar
}

// Sample is one float sample (H and FH nil) or one native histogram
// (exactly one of H and FH set).
type Sample struct {
	Labels labels.Labels
	T      int64
	V      float64
	H      *histogram.Histogram
	FH     *histogram.FloatHistogram
}

// Exemplar is one exemplar of a series.
type Exemplar struct {
	Labels labels.Labels
	E      exemplar.Exemplar
}

func (b *Batch) reset() {
	clear(b.Samples) // drop label and histogram references
	clear(b.Exemplars)
	b.Samples, b.Exemplars = b.Samples[:0], b.Exemplars[:0]
}

// Forwarder takes the batches of committed samples. Forward must not keep
// the batch after it returns.
type Forwarder interface {
	// Enabled says whether there is anybody to forward to: when not,
	// appenders are handed out unwrapped and cost nothing.
	Enabled() bool
	Forward(b *Batch)
}

// Tee is a storage.Appendable that hands every sample the storage accepted
// to a Forwarder, once the storage's Commit succeeded: a failed commit or a
// rollback forwards nothing, and samples the storage refused (out of order,
// out of bounds) are not forwarded.
//
// One limit: a storage may still drop a sample it accepted at Append when
// the commit finds it out of order (two appenders racing on one series);
// such a sample is forwarded, and the receiver judges it as the storage did.
type Tee struct {
	inner storage.Appendable
	fwd   Forwarder
	pool  sync.Pool
}

// NewTee wraps inner, forwarding to fwd.
func NewTee(inner storage.Appendable, fwd Forwarder) *Tee {
	t := &Tee{inner: inner, fwd: fwd}
	t.pool.New = func() any { return &Batch{} }
	return t
}

// Appender implements storage.Appendable.
func (t *Tee) Appender(ctx context.Context) storage.Appender {
	app := t.inner.Appender(ctx)
	if !t.fwd.Enabled() {
		return app
	}
	return &teeAppender{Appender: app, tee: t, batch: t.pool.Get().(*Batch)}
}

type teeAppender struct {
	storage.Appender
	tee   *Tee
	batch *Batch // nil once the appender was committed or rolled back
}

func (a *teeAppender) current() *Batch {
	if a.batch == nil { // appending again after Commit: Appender allows it
		a.batch = a.tee.pool.Get().(*Batch)
	}
	return a.batch
}

func (a *teeAppender) Append(ref storage.SeriesRef, lset labels.Labels, t int64, v float64) (storage.SeriesRef, error) {
	ref, err := a.Appender.Append(ref, lset, t, v)
	if err == nil {
		b := a.current()
		b.Samples = append(b.Samples, Sample{Labels: lset, T: t, V: v})
	}
	return ref, err
}

func (a *teeAppender) AppendHistogram(ref storage.SeriesRef, lset labels.Labels, t int64, h *histogram.Histogram, fh *histogram.FloatHistogram) (storage.SeriesRef, error) {
	ref, err := a.Appender.AppendHistogram(ref, lset, t, h, fh)
	if err == nil {
		b := a.current()
		b.Samples = append(b.Samples, Sample{Labels: lset, T: t, H: h, FH: fh})
	}
	return ref, err
}

// AppendWithStartTimestamp implements storage.StartTimestampAppender:
// the start timestamp goes to a storage that keeps them and is dropped
// otherwise. Remote write 1.0 has no field for it: the sample is forwarded
// without.
func (a *teeAppender) AppendWithStartTimestamp(ref storage.SeriesRef, lset labels.Labels, st, t int64, v float64, h *histogram.Histogram, fh *histogram.FloatHistogram) (storage.SeriesRef, error) {
	ref, err := storage.AppendSample(a.Appender, ref, lset, st, t, v, h, fh)
	if err == nil {
		b := a.current()
		b.Samples = append(b.Samples, Sample{Labels: lset, T: t, V: v, H: h, FH: fh})
	}
	return ref, err
}

func (a *teeAppender) AppendExemplar(ref storage.SeriesRef, lset labels.Labels, e exemplar.Exemplar) (storage.SeriesRef, error) {
	ref, err := a.Appender.AppendExemplar(ref, lset, e)
	if err == nil {
		b := a.current()
		b.Exemplars = append(b.Exemplars, Exemplar{Labels: lset, E: e})
	}
	return ref, err
}

// Commit commits to the storage first; only what it made durable goes on.
func (a *teeAppender) Commit() error {
	err := a.Appender.Commit()
	if b := a.batch; b != nil {
		if err == nil && (len(b.Samples) > 0 || len(b.Exemplars) > 0) {
			a.tee.fwd.Forward(b)
		}
		a.release()
	}
	return err
}

func (a *teeAppender) Rollback() error {
	err := a.Appender.Rollback()
	if a.batch != nil {
		a.release()
	}
	return err
}

// maxPooledSamples keeps the memory of one huge batch (a large
// remote-write request) from staying pinned in the pool.
const maxPooledSamples = 1 << 16

func (a *teeAppender) release() {
	a.batch.reset()
	if cap(a.batch.Samples) <= maxPooledSamples {
		a.tee.pool.Put(a.batch)
	}
	a.batch = nil
}
