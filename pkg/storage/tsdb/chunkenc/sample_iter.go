package chunkenc

import (
	"math"

	"github.com/prometheus/prometheus/model/histogram"

	"github.com/graftlabs/graft/pkg/storage"
)

// SampleIterator is positioned on one float sample and ends after it: the
// last sample of an open chunk's view, read without decoding (see
// RawChunk.IteratorAtLast). It is a few words, where a FloatIterator
// carries a batch of samples: a query at the newest step makes one per
// series.
type SampleIterator struct {
	t    int64
	v    float64
	done bool
}

// Next implements storage.Iterator: the sample is current already.
func (it *SampleIterator) Next() storage.ValueType {
	it.done = true
	return storage.ValNone
}

// SeekTo implements storage.Iterator.
func (it *SampleIterator) SeekTo(t int64) storage.ValueType {
	if it.done || it.t < t {
		it.done = true
		return storage.ValNone
	}
	return storage.ValFloat
}

// At implements storage.Iterator.
func (it *SampleIterator) At() (int64, float64) { return it.t, it.v }

// AtT implements storage.Iterator.
func (it *SampleIterator) AtT() int64 {
	if it.done {
		return math.MinInt64
	}
	return it.t
}

// AtHistogram implements storage.Iterator; a float sample has none.
func (it *SampleIterator) AtHistogram(h *histogram.Histogram) (int64, *histogram.Histogram) {
	return it.t, h
}

// AtFloatHistogram implements storage.Iterator; a float sample has none.
func (it *SampleIterator) AtFloatHistogram(fh *histogram.FloatHistogram) (int64, *histogram.FloatHistogram) {
	return it.t, fh
}

// Err implements storage.Iterator.
func (it *SampleIterator) Err() error { return nil }
