package tsdb

import (
	"fmt"
	"math"

	"github.com/prometheus/prometheus/model/histogram"

	"github.com/graftlabs/graft/pkg/storage"
	"github.com/graftlabs/graft/pkg/storage/tsdb/chunkenc"
)

// chunkNormalizer prepares a series' chunks for a block. Overlapping chunks
// (late samples, overlapping blocks) are merged sample by sample, the first
// listed winning on equal timestamps. With recode, runs of float chunks are
// re-coded with the table that suits their values best and joined into
// chunks of up to maxSamples: the head cuts chunks short and codes them
// with one fixed table, for fast appends. Histogram chunks are kept as
// they are unless they overlap.
type chunkNormalizer struct {
	maxSamples int
	recode     bool

	ts []int64
	vs []float64
	it storage.Iterator
}

func (n *chunkNormalizer) normalize(cs []headChunk) ([]headChunk, error) {
	if overlapping(cs) {
		return n.merge(cs)
	}
	if !n.recode {
		return cs, nil
	}
	out := make([]headChunk, 0, len(cs))
	n.ts, n.vs = n.ts[:0], n.vs[:0]
	for _, c := range cs {
		if c.chunk.Enc != chunkenc.EncFloat {
			var err error
			if out, err = n.flushFloats(out); err != nil {
				return nil, err
			}
			out = append(out, c)
			continue
		}
		n.it = c.chunk.Iterator(n.it)
		for n.it.Next() == storage.ValFloat {
			t, v := n.it.At()
			if len(n.ts) == n.maxSamples {
				var err error
				if out, err = n.flushFloats(out); err != nil {
					return nil, err
				}
			}
			n.ts, n.vs = append(n.ts, t), append(n.vs, v)
		}
		if err := n.it.Err(); err != nil {
			return nil, fmt.Errorf("decode chunk [%d, %d]: %w", c.minT, c.maxT, err)
		}
	}
	return n.flushFloats(out)
}

// flushFloats codes the buffered float samples as one chunk.
func (n *chunkNormalizer) flushFloats(out []headChunk) ([]headChunk, error) {
	if len(n.ts) == 0 {
		return out, nil
	}
	data, err := chunkenc.EncodeFloats(n.ts, n.vs)
	if err != nil {
		return nil, err
	}
	out = append(out, headChunk{minT: n.ts[0], maxT: n.ts[len(n.ts)-1], chunk: chunkenc.RawChunk{Enc: chunkenc.EncFloat, Data: data}})
	n.ts, n.vs = n.ts[:0], n.vs[:0]
	return out, nil
}

// merge decodes overlapping chunks into one sorted run and codes it again.
func (n *chunkNormalizer) merge(cs []headChunk) ([]headChunk, error) {
	m := newMergedIterator(cs, chunkenc.AggrAvg)
	if m.err != nil {
		return nil, m.err
	}
	return codeSamples(m.samples, max(n.maxSamples, samplesPerChunk))
}

// codeSamples codes a sorted run of samples with unique timestamps as
// chunks: runs of floats in chunks of up to maxFloats, with the coding that
// suits them best; histograms in chunks of one kind and bucket layout, of
// up to samplesPerChunk.
func codeSamples(samples []pendingSample, maxFloats int) ([]headChunk, error) {
	var out []headChunk
	var ts []int64
	var vs []float64
	flushFloats := func() error {
		if len(ts) == 0 {
			return nil
		}
		data, err := chunkenc.EncodeFloats(ts, vs)
		if err != nil {
			return err
		}
		out = append(out, headChunk{minT: ts[0], maxT: ts[len(ts)-1], chunk: chunkenc.RawChunk{Enc: chunkenc.EncFloat, Data: data}})
		ts, vs = ts[:0], vs[:0]
		return nil
	}
	var hc *chunkenc.HistogramChunk
	var hMin, hMax int64
	flushHist := func() {
		if hc != nil && hc.NumSamples() > 0 {
			out = append(out, headChunk{minT: hMin, maxT: hMax, chunk: chunkenc.RawChunk{Enc: hc.Encoding(), Data: hc.Bytes()}})
		}
		hc = nil
	}
	for _, p := range samples {
		if p.h == nil && p.fh == nil {
			flushHist()
			if len(ts) == maxFloats {
				if err := flushFloats(); err != nil {
					return nil, err
				}
			}
			ts, vs = append(ts, p.t), append(vs, p.v)
			continue
		}
		if err := flushFloats(); err != nil {
			return nil, err
		}
		if hc == nil || (p.fh != nil) != (hc.Encoding() == chunkenc.EncFloatHistogram) || hc.NumSamples() >= samplesPerChunk {
			flushHist()
			hc, hMin = chunkenc.NewHistogramChunk(p.fh != nil), p.t
		}
		if err := appendHist(hc, p.t, p.h, p.fh); err != nil {
			flushHist()
			hc, hMin = chunkenc.NewHistogramChunk(p.fh != nil), p.t
			if err := appendHist(hc, p.t, p.h, p.fh); err != nil {
				return nil, err
			}
		}
		hMax = p.t
	}
	flushHist()
	if err := flushFloats(); err != nil {
		return nil, err
	}
	return out, nil
}

// decodeChunk appends every sample of c to into.
func decodeChunk(c chunkenc.RawChunk, into []pendingSample) ([]pendingSample, error) {
	it := c.Iterator(nil)
	for vt := it.Next(); vt != storage.ValNone; vt = it.Next() {
		into = append(into, sampleAt(it, vt))
	}
	return into, it.Err()
}

// sampleAt is the sample an iterator stands on.
func sampleAt(it storage.Iterator, vt storage.ValueType) pendingSample {
	var p pendingSample
	switch vt {
	case storage.ValFloat:
		p.t, p.v = it.At()
	case storage.ValHistogram:
		p.t, p.h = it.AtHistogram(nil)
	case storage.ValFloatHistogram:
		p.t, p.fh = it.AtFloatHistogram(nil)
	}
	return p
}

func appendHist(c *chunkenc.HistogramChunk, t int64, h *histogram.Histogram, fh *histogram.FloatHistogram) error {
	return c.Append(t, h, fh)
}

// chunksRange is the time range of a sorted, non-empty chunk list.
func chunksRange(cs []headChunk) (int64, int64) {
	mint, maxt := int64(math.MaxInt64), int64(math.MinInt64)
	for _, c := range cs {
		mint, maxt = min(mint, c.minT), max(maxt, c.maxT)
	}
	return mint, maxt
}
