// Package remote speaks Prometheus's remote-write protocol: a receiver that
// takes writes (1.0 and 2.0) from other Prometheus-compatible senders into
// Graft's storage, and a sender of everything committed.
package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"

	"github.com/gogo/protobuf/proto"
	"github.com/golang/snappy"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"

	"github.com/graftlabs/graft/pkg/storage"
)

// maxRequestBytes bounds a compressed write request, as a guard against
// memory exhaustion by one sender.
const maxRequestBytes = 64 << 20

// The message types of remote write 1.0 and 2.0 (the proto parameter of
// the Content-Type).
const (
	protoV1 = "prometheus.WriteRequest"
	protoV2 = "io.prometheus.write.v2.Request"
)

// Receiver is the HTTP handler of POST /api/v1/write.
type Receiver struct {
	store   storage.Appendable
	logger  *slog.Logger
	samples prometheus.Counter
	refused *prometheus.CounterVec
}

// NewReceiver returns a receiver appending to store.
func NewReceiver(store storage.Appendable, logger *slog.Logger, reg prometheus.Registerer) *Receiver {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	r := &Receiver{
		store: store, logger: logger,
		samples: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "graft_remote_write_received_samples_total", Help: "Samples and histograms stored from remote-write requests.",
		}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "graft_remote_write_refused_samples_total", Help: "Remote-written samples not stored, by reason.",
		}, []string{"reason"}),
	}
	if reg != nil {
		reg.MustRegister(r.samples, r.refused)
	}
	return r
}

// ServeHTTP decodes a snappy-compressed protobuf request (remote write 1.0
// or 2.0, by its Content-Type) and appends it. Samples storage refuses (out
// of order, invalid labels) are counted and the rest is committed; the
// sender then gets 400 naming what was refused, so it does not retry a
// batch that cannot succeed. A 2.0 sender is told what was written in the
// X-Prometheus-Remote-Write-*-Written headers.
func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	msg, err := messageType(r.Header.Get("Content-Type"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusUnsupportedMediaType)
		return
	}
	raw, err := decompress(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	res, err := rc.writeMessage(r.Context(), msg, raw)
	if msg == protoV2 {
		res.setHeaders(w.Header())
	}
	if errors.Is(err, errBadRequest) {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if err != nil {
		rc.logger.Error("Remote write failed", "err", err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if res.refused > 0 {
		http.Error(w, res.String(), http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// writeMessage decodes raw as a message of type msg and appends it. The
// result is never nil.
func (rc *Receiver) writeMessage(ctx context.Context, msg string, raw []byte) (*writeResult, error) {
	if msg == protoV2 {
		req, err := decodeV2(raw)
		if err != nil {
			return &writeResult{}, fmt.Errorf("%w: %v", errBadRequest, err)
		}
		return rc.writeV2(ctx, req)
	}
	req, err := decodeV1(raw)
	if err != nil {
		return &writeResult{}, fmt.Errorf("%w: %v", errBadRequest, err)
	}
	return rc.write(ctx, req)
}

// messageType is the message a request's Content-Type announces: 1.0's
// when it names none (1.0 senders may omit the header).
func messageType(ct string) (string, error) {
	if ct == "" {
		return protoV1, nil
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/x-protobuf" {
		return "", fmt.Errorf("unsupported Content-Type %q, want application/x-protobuf", ct)
	}
	switch p := params["proto"]; p {
	case "", protoV1:
		return protoV1, nil
	case protoV2:
		return protoV2, nil
	default:
		return "", fmt.Errorf("unsupported remote write message %q, want %s (remote write 1.0) or %s (2.0)", p, protoV1, protoV2)
	}
}

// errBadRequest marks a request that cannot be stored as sent.
var errBadRequest = errors.New("bad request")

func decompress(body io.Reader) ([]byte, error) {
	compressed, err := io.ReadAll(io.LimitReader(body, maxRequestBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read request: %w", err)
	}
	if len(compressed) > maxRequestBytes {
		return nil, fmt.Errorf("request larger than %d bytes", maxRequestBytes)
	}
	raw, err := snappy.Decode(nil, compressed)
	if err != nil {
		return nil, fmt.Errorf("snappy decode: %w", err)
	}
	return raw, nil
}

func decodeV1(raw []byte) (*prompb.WriteRequest, error) {
	var req prompb.WriteRequest
	if err := proto.Unmarshal(raw, &req); err != nil {
		return nil, fmt.Errorf("decode WriteRequest: %w", err)
	}
	return &req, nil
}

// writeResult counts what one request stored and refused.
type writeResult struct {
	stored     int // samples and histograms
	histograms int // of which histograms
	exemplars  int
	refused    int
	reasons    map[string]int
	first      error
}

func (w *writeResult) refuse(reason string, err error) {
	w.refused++
	w.reasons[reason]++
	if w.first == nil {
		w.first = err
	}
}

func (w *writeResult) String() string {
	return fmt.Sprintf("%d of %d samples refused %v, first: %v", w.refused, w.refused+w.stored, w.reasons, w.first)
}

func (rc *Receiver) write(ctx context.Context, req *prompb.WriteRequest) (*writeResult, error) {
	app := rc.store.Appender(ctx)
	res := &writeResult{reasons: map[string]int{}}
	b := labels.NewScratchBuilder(0)
	for _, ts := range req.Timeseries {
		ls := ts.ToLabels(&b, nil)
		if err := validSeries(ls); err != nil {
			for range len(ts.Samples) + len(ts.Histograms) {
				res.refuse("invalid_labels", err)
			}
			continue
		}
		if err := rc.appendSeries(app, ls, ts, res); err != nil {
			_ = app.Rollback()
			return &writeResult{}, err
		}
	}
	if err := rc.commit(app, res); err != nil {
		return &writeResult{}, err
	}
	return res, nil
}

// commit commits what a request appended and counts it.
func (rc *Receiver) commit(app storage.Appender, res *writeResult) error {
	if err := app.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	rc.samples.Add(float64(res.stored))
	for reason, n := range res.reasons {
		rc.refused.WithLabelValues(reason).Add(float64(n))
	}
	return nil
}

func validSeries(ls labels.Labels) error {
	if !ls.Has(labels.MetricName) || !ls.IsValid(model.UTF8Validation) {
		return fmt.Errorf("invalid metric name or labels: %s", ls)
	}
	if name, dup := ls.HasDuplicateLabelNames(); dup {
		return fmt.Errorf("duplicate label %q in %s", name, ls)
	}
	return nil
}

// appendSeries appends the samples, histograms and exemplars of one series.
// Refusals are counted; only a storage failure is returned.
func (rc *Receiver) appendSeries(app storage.Appender, ls labels.Labels, ts prompb.TimeSeries, res *writeResult) error {
	var ref storage.SeriesRef
	for _, s := range ts.Samples {
		r, err := app.Append(ref, ls, s.Timestamp, s.Value)
		if err := res.note(err, ls, s.Timestamp); err != nil {
			return err
		}
		ref = r
	}
	for _, h := range ts.Histograms {
		var err error
		if h.IsFloatHistogram() {
			_, err = app.AppendHistogram(ref, ls, h.Timestamp, nil, h.ToFloatHistogram())
		} else {
			_, err = app.AppendHistogram(ref, ls, h.Timestamp, h.ToIntHistogram(), nil)
		}
		if err := res.noteHistogram(err, ls, h.Timestamp); err != nil {
			return err
		}
	}
	b := labels.NewScratchBuilder(0)
	for _, e := range ts.Exemplars {
		// Exemplars are best effort, as in Prometheus: a refused one does
		// not fail the request.
		if _, err := app.AppendExemplar(ref, ls, e.ToExemplar(&b, nil)); err == nil {
			res.exemplars++
		}
	}
	return nil
}

// noteHistogram is note for a histogram, which is also counted apart.
func (w *writeResult) noteHistogram(err error, ls labels.Labels, t int64) error {
	if err == nil {
		w.histograms++
	}
	return w.note(err, ls, t)
}

// note classifies an append error: refusals are counted, anything else is
// a storage failure to return.
func (w *writeResult) note(err error, ls labels.Labels, t int64) error {
	switch {
	case err == nil:
		w.stored++
	case errors.Is(err, storage.ErrOutOfOrderSample):
		w.refuse("out_of_order", fmt.Errorf("%w: %s at %d", err, ls, t))
	case errors.Is(err, storage.ErrDuplicateSample):
		w.refuse("duplicate", fmt.Errorf("%w: %s at %d", err, ls, t))
	case errors.Is(err, storage.ErrOutOfBounds):
		w.refuse("out_of_bounds", fmt.Errorf("%w: %s at %d", err, ls, t))
	case errors.Is(err, storage.ErrInvalidHistogram):
		w.refuse("invalid_histogram", fmt.Errorf("%w: %s at %d", err, ls, t))
	default:
		return fmt.Errorf("append %s: %w", ls, err)
	}
	return nil
}
