package remote

import (
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"
	"github.com/prometheus/prometheus/prompb"
)

// encoder turns a committed batch into one queue record for one endpoint:
// external labels added (a sample's own label wins), write_relabel_configs
// applied, series dropped by relabeling left out, histograms and exemplars
// kept only when the endpoint sends them. Doing this before queueing means
// the queue holds exactly what is to be sent.
type encoder struct {
	external       labels.Labels
	relabel        []*relabel.Config
	sendExemplars  bool
	sendHistograms bool
}

// encoded is one record: its payload, the samples and histograms in it,
// and their newest timestamp (math.MinInt64 when there are none). The
// payload lives in buffers that release hands back for the next record.
type encoded struct {
	payload []byte
	items   int
	maxT    int64
	bufs    *encodeBufs
}

// encodeBufs are the scratch memory of one encoding: commits run this on
// their own path, so allocations are kept per batch, not per sample.
type encodeBufs struct {
	labels  []prompb.Label
	samples []prompb.Sample
	series  []prompb.TimeSeries
	raw     []byte
	payload []byte
}

var bufPool = sync.Pool{New: func() any { return &encodeBufs{} }}

// release returns the record's buffers; the payload is invalid afterwards.
func (r *encoded) release() {
	if r.bufs == nil {
		return
	}
	b := r.bufs
	clear(b.labels[:cap(b.labels)]) // drop the label strings
	clear(b.series[:cap(b.series)])
	b.labels, b.samples, b.series = b.labels[:0], b.samples[:0], b.series[:0]
	if cap(b.raw) <= 4<<20 { // do not keep the memory of one huge batch
		bufPool.Put(b)
	}
	r.bufs, r.payload = nil, nil
}

// encode builds the record of b; it has no payload when nothing is left.
// The caller releases it.
func (e *encoder) encode(b *Batch) (encoded, error) {
	bufs := bufPool.Get().(*encodeBufs)
	out := encoded{maxT: math.MinInt64, bufs: bufs}
	nl := 0
	for i := range b.Samples {
		nl += b.Samples[i].Labels.Len() + e.external.Len()
	}
	// One slab each for the labels and samples of the whole batch.
	bufs.labels = slices.Grow(bufs.labels[:0], nl)
	bufs.samples = slices.Grow(bufs.samples[:0], len(b.Samples))
	bufs.series = slices.Grow(bufs.series[:0], len(b.Samples))
	lb := labels.NewBuilder(labels.EmptyLabels())
	for i := range b.Samples {
		s := &b.Samples[i]
		isHist := s.H != nil || s.FH != nil
		if isHist && !e.sendHistograms {
			continue
		}
		ls, keep := e.process(lb, s.Labels, bufs)
		if !keep {
			continue
		}
		ts := prompb.TimeSeries{Labels: ls}
		switch {
		case s.H != nil:
			ts.Histograms = []prompb.Histogram{prompb.FromIntHistogram(s.T, s.H)}
		case s.FH != nil:
			ts.Histograms = []prompb.Histogram{prompb.FromFloatHistogram(s.T, s.FH)}
		default:
			n := len(bufs.samples)
			bufs.samples = append(bufs.samples, prompb.Sample{Value: s.V, Timestamp: s.T})
			ts.Samples = bufs.samples[n : n+1 : n+1]
		}
		bufs.series = append(bufs.series, ts)
		out.items++
		out.maxT = max(out.maxT, s.T)
	}
	if e.sendExemplars {
		for i := range b.Exemplars {
			x := &b.Exemplars[i]
			ls, keep := e.process(lb, x.Labels, bufs)
			if !keep {
				continue
			}
			bufs.series = append(bufs.series, prompb.TimeSeries{Labels: ls, Exemplars: []prompb.Exemplar{{
				Labels: prompb.FromLabels(x.E.Labels, nil), Value: x.E.Value, Timestamp: x.E.Ts,
			}}})
		}
	}
	if len(bufs.series) == 0 {
		return out, nil
	}
	req := prompb.WriteRequest{Timeseries: bufs.series}
	size := req.Size()
	bufs.raw = slices.Grow(bufs.raw[:0], size)[:size]
	if _, err := req.MarshalToSizedBuffer(bufs.raw); err != nil {
		return out, fmt.Errorf("encode remote-write record: %w", err)
	}
	bufs.payload = snappy.Encode(bufs.payload[:cap(bufs.payload)], bufs.raw)
	out.payload = bufs.payload
	return out, nil
}

// process applies external labels, then relabeling, as Prometheus does,
// and returns the labels in the batch's label slab.
func (e *encoder) process(lb *labels.Builder, ls labels.Labels, bufs *encodeBufs) ([]prompb.Label, bool) {
	if !e.external.IsEmpty() || len(e.relabel) > 0 {
		lb.Reset(ls)
		e.external.Range(func(l labels.Label) {
			if ls.Get(l.Name) == "" {
				lb.Set(l.Name, l.Value)
			}
		})
		if !relabel.ProcessBuilder(lb, e.relabel...) {
			return nil, false
		}
		if ls = lb.Labels(); ls.IsEmpty() {
			return nil, false
		}
	}
	n := len(bufs.labels)
	// FromLabels appends to the free end of the slab; it allocates only
	// when relabeling made more labels than the slab was sized for.
	out := prompb.FromLabels(ls, bufs.labels[n:])
	if n+len(out) <= cap(bufs.labels) {
		bufs.labels = bufs.labels[:n+len(out)]
		return out[:len(out):len(out)], true
	}
	return out, true
}

// decodeRecord reads a record back into the request it was built from.
func decodeRecord(payload []byte) (*prompb.WriteRequest, error) {
	raw, err := snappy.Decode(nil, payload)
	if err != nil {
		return nil, fmt.Errorf("decompress remote-write record: %w", err)
	}
	var req prompb.WriteRequest
	if err := req.Unmarshal(raw); err != nil {
		return nil, fmt.Errorf("decode remote-write record: %w", err)
	}
	return &req, nil
}
