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
// they are unless they overlap. Start timestamps go with their samples.
type chunkNormalizer struct {
	maxSamples int
	recode     bool

	ts, sts []int64
	vs      []float64
	it      storage.Iterator
}

func (n *chunkNormalizer) normalize(cs []headChunk) ([]headChunk, error) {
	if overlapping(cs) {
		return n.merge(cs)
	}
	if !n.recode {
		return cs, nil
	}
	out := make([]headChunk, 0, len(cs))
	n.ts, n.vs, n.sts = n.ts[:0], n.vs[:0], n.sts[:0]
	for _, c := range cs {
		if c.chunk.Enc.Base() != chunkenc.EncFloat {
			var err error
			if out, err = n.flushFloats(out); err != nil {
				return nil, err
			}
			out = append(out, c)
			continue
		}
		n.it = c.chunk.Iterator(n.it)
		st := stOf(n.it)
		for n.it.Next() == storage.ValFloat {
			t, v := n.it.At()
			if len(n.ts) == n.maxSamples {
				var err error
				if out, err = n.flushFloats(out); err != nil {
					return nil, err
				}
			}
			n.ts, n.vs, n.sts = append(n.ts, t), append(n.vs, v), append(n.sts, atST(st))
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
	c, err := floatChunk(n.ts, n.vs, n.sts)
	if err != nil {
		return nil, err
	}
	out = append(out, headChunk{minT: n.ts[0], maxT: n.ts[len(n.ts)-1], chunk: c})
	n.ts, n.vs, n.sts = n.ts[:0], n.vs[:0], n.sts[:0]
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
	var ts, sts []int64
	var vs []float64
	flushFloats := func() error {
		if len(ts) == 0 {
			return nil
		}
		c, err := floatChunk(ts, vs, sts)
		if err != nil {
			return err
		}
		out = append(out, headChunk{minT: ts[0], maxT: ts[len(ts)-1], chunk: c})
		ts, vs, sts = ts[:0], vs[:0], sts[:0]
		return nil
	}
	var hc *chunkenc.HistogramChunk
	var hts, hsts []int64 // the histogram chunk's times and start timestamps
	flushHist := func() {
		if hc != nil && hc.NumSamples() > 0 {
			c := chunkenc.WithST(hc.Encoding(), hc.Bytes(), chunkenc.EncodeST(hts, hsts))
			out = append(out, headChunk{minT: hts[0], maxT: hts[len(hts)-1], chunk: c})
		}
		hc, hts, hsts = nil, hts[:0], hsts[:0]
	}
	for _, p := range samples {
		if p.h == nil && p.fh == nil {
			flushHist()
			if len(ts) == maxFloats {
				if err := flushFloats(); err != nil {
					return nil, err
				}
			}
			ts, vs, sts = append(ts, p.t), append(vs, p.v), append(sts, p.st)
			continue
		}
		if err := flushFloats(); err != nil {
			return nil, err
		}
		if hc == nil || (p.fh != nil) != (hc.Encoding() == chunkenc.EncFloatHistogram) || hc.NumSamples() >= samplesPerChunk {
			flushHist()
			hc = chunkenc.NewHistogramChunk(p.fh != nil)
		}
		if err := appendHist(hc, p.t, p.h, p.fh); err != nil {
			flushHist()
			hc = chunkenc.NewHistogramChunk(p.fh != nil)
			if err := appendHist(hc, p.t, p.h, p.fh); err != nil {
				return nil, err
			}
		}
		hts, hsts = append(hts, p.t), append(hsts, p.st)
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
	p := pendingSample{st: atST(stOf(it))}
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
