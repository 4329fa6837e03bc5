package remote

import (
	"fmt"
	"math"

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
// and their newest timestamp (math.MinInt64 when there are none).
type encoded struct {
	payload []byte
	items   int
	maxT    int64
}

// encode builds the record of b; it has no payload when nothing is left.
func (e *encoder) encode(b *Batch) (encoded, error) {
	out := encoded{maxT: math.MinInt64}
	req := prompb.WriteRequest{Timeseries: make([]prompb.TimeSeries, 0, len(b.Samples))}
	lb := labels.NewBuilder(labels.EmptyLabels())
	for i := range b.Samples {
		s := &b.Samples[i]
		isHist := s.H != nil || s.FH != nil
		if isHist && !e.sendHistograms {
			continue
		}
		ls, keep := e.process(lb, s.Labels)
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
			ts.Samples = []prompb.Sample{{Value: s.V, Timestamp: s.T}}
		}
		req.Timeseries = append(req.Timeseries, ts)
		out.items++
		out.maxT = max(out.maxT, s.T)
	}
	if e.sendExemplars {
		for i := range b.Exemplars {
			x := &b.Exemplars[i]
			ls, keep := e.process(lb, x.Labels)
			if !keep {
				continue
			}
			req.Timeseries = append(req.Timeseries, prompb.TimeSeries{Labels: ls, Exemplars: []prompb.Exemplar{{
				Labels: prompb.FromLabels(x.E.Labels, nil), Value: x.E.Value, Timestamp: x.E.Ts,
			}}})
		}
	}
	if len(req.Timeseries) == 0 {
		return out, nil
	}
	raw, err := req.Marshal()
	if err != nil {
		return out, fmt.Errorf("encode remote-write record: %w", err)
	}
	out.payload = snappy.Encode(nil, raw)
	return out, nil
}

// process applies external labels, then relabeling, as Prometheus does.
func (e *encoder) process(lb *labels.Builder, ls labels.Labels) ([]prompb.Label, bool) {
	if e.external.IsEmpty() && len(e.relabel) == 0 {
		return prompb.FromLabels(ls, nil), true
	}
	lb.Reset(ls)
	e.external.Range(func(l labels.Label) {
		if ls.Get(l.Name) == "" {
			lb.Set(l.Name, l.Value)
		}
	})
	if !relabel.ProcessBuilder(lb, e.relabel...) {
		return nil, false
	}
	out := lb.Labels()
	if out.IsEmpty() {
		return nil, false
	}
	return prompb.FromLabels(out, nil), true
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
