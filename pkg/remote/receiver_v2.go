package remote

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"

	"github.com/graftlabs/graft/pkg/storage"
)

// Remote write 2.0 differs from 1.0 in its framing, not in what is stored:
// labels (of series and exemplars) are references into a symbol table sent
// with the request, and samples and histograms may carry start timestamps,
// which go to storages that keep them. The metadata of each series is not
// stored: Graft's metadata API lists what scrapes exposed.

func decodeV2(raw []byte) (*writev2.Request, error) {
	var req writev2.Request
	if err := req.Unmarshal(raw); err != nil {
		return nil, fmt.Errorf("decode %s: %w", protoV2, err)
	}
	return &req, nil
}

// writeV2 appends a 2.0 request. A reference outside the symbol table makes
// the request malformed: nothing of it is stored (errBadRequest).
func (rc *Receiver) writeV2(ctx context.Context, req *writev2.Request) (*writeResult, error) {
	app := rc.store.Appender(ctx)
	res := &writeResult{reasons: map[string]int{}}
	b := labels.NewScratchBuilder(0)
	for i := range req.Timeseries {
		ts := &req.Timeseries[i]
		ls, err := ts.ToLabels(&b, req.Symbols)
		if err != nil {
			err = fmt.Errorf("%w: series %d: %v", errBadRequest, i, err)
		} else {
			err = rc.appendSeriesV2(app, ls, ts, req.Symbols, res)
		}
		if err != nil {
			_ = app.Rollback()
			return &writeResult{}, err
		}
	}
	if err := rc.commit(app, res); err != nil {
		return &writeResult{}, err
	}
	return res, nil
}

// appendSeriesV2 appends the samples, histograms and exemplars of one
// series. Refusals are counted; a storage failure or a malformed exemplar
// is returned.
func (rc *Receiver) appendSeriesV2(app storage.Appender, ls labels.Labels, ts *writev2.TimeSeries, symbols []string, res *writeResult) error {
	if err := validSeries(ls); err != nil {
		for range len(ts.Samples) + len(ts.Histograms) {
			res.refuse("invalid_labels", err)
		}
		return nil
	}
	var ref storage.SeriesRef
	for _, s := range ts.Samples {
		r, err := storage.AppendSample(app, ref, ls, s.StartTimestamp, s.Timestamp, s.Value, nil, nil)
		if err := res.note(err, ls, s.Timestamp); err != nil {
			return err
		}
		if err == nil {
			ref = r
		}
	}
	for _, h := range ts.Histograms {
		var (
			ih *histogram.Histogram
			fh *histogram.FloatHistogram
		)
		if h.IsFloatHistogram() {
			fh = h.ToFloatHistogram()
		} else {
			ih = h.ToIntHistogram()
		}
		_, err := storage.AppendSample(app, ref, ls, h.StartTimestamp, h.Timestamp, 0, ih, fh)
		if err := res.noteHistogram(err, ls, h.Timestamp); err != nil {
			return err
		}
	}
	b := labels.NewScratchBuilder(0)
	for _, e := range ts.Exemplars {
		ex, err := e.ToExemplar(&b, symbols)
		if err != nil {
			return fmt.Errorf("%w: exemplar of %s: %v", errBadRequest, ls, err)
		}
		if _, err := app.AppendExemplar(ref, ls, ex); err == nil { // best effort, as in 1.0
			res.exemplars++
		}
	}
	return nil
}

// setHeaders tells a 2.0 sender what was written, as the protocol asks.
func (w *writeResult) setHeaders(h http.Header) {
	h.Set("X-Prometheus-Remote-Write-Samples-Written", strconv.Itoa(w.stored-w.histograms))
	h.Set("X-Prometheus-Remote-Write-Histograms-Written", strconv.Itoa(w.histograms))
	h.Set("X-Prometheus-Remote-Write-Exemplars-Written", strconv.Itoa(w.exemplars))
}
