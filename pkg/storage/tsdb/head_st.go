package tsdb

import (
	"github.com/graftlabs/graft/pkg/storage"
	"github.com/graftlabs/graft/pkg/storage/tsdb/chunkenc"
	"github.com/graftlabs/graft/pkg/storage/tsdb/record"
)

// Start timestamps (storage.StartTimestampAppender) travel with their
// samples: in the appender's batch, in WAL records flagged as carrying
// them (record.STFlag), in a column beside the chunk values (chunkenc.EncST)
// of the head's chunks, checkpoints and blocks. Chunks, records and series
// without any are exactly as they were without the feature.

// anyST says whether a sample of run has a start timestamp.
func anyST(run []pendingSample) bool {
	for _, p := range run {
		if p.st != 0 {
			return true
		}
	}
	return false
}

// encodeSTRun codes a run of float samples as a record that carries their
// start timestamps.
func encodeSTRun(b []byte, e *record.SamplesEncoder, run []pendingSample, late bool) []byte {
	b = e.StartWithST(b, late)
	for _, p := range run {
		b = e.AppendWithST(b, p.s.ref, p.t, p.st, p.v)
	}
	return b
}

// appendST records the start timestamp st of the sample just appended at
// t, after one at prevT: the open chunk takes a column at its first
// non-zero one. Callers hold mtx.
func (s *memSeries) appendST(t, st, prevT int64) {
	c, ok := s.open.(*chunkenc.STChunk)
	if !ok {
		if st == 0 {
			return
		}
		c = chunkenc.NewSTChunk(s.open, prevT)
		s.open = c
	}
	c.AppendST(t, st)
}

// stOf is the start timestamp reader of it, nil if it has none.
func stOf(it storage.Iterator) storage.StartTimestampIterator {
	st, _ := it.(storage.StartTimestampIterator)
	return st
}

// atST is the start timestamp of the sample st's iterator is on, 0 for a
// nil st.
func atST(st storage.StartTimestampIterator) int64 {
	if st == nil {
		return 0
	}
	return st.AtST()
}

// floatChunk codes float samples, with their start timestamps if any is
// known, as one chunk.
func floatChunk(ts []int64, vs []float64, sts []int64) (chunkenc.RawChunk, error) {
	data, err := chunkenc.EncodeFloats(ts, vs)
	if err != nil {
		return chunkenc.RawChunk{}, err
	}
	return chunkenc.WithST(chunkenc.EncFloat, data, chunkenc.EncodeST(ts, sts)), nil
}

// AtST implements storage.StartTimestampIterator: 0 for samples of chunks
// without start timestamps (the fast path reads only those).
func (it *chunksIterator) AtST() int64 {
	if it.fast != nil || it.cur == nil {
		return 0
	}
	return atST(stOf(it.cur))
}

// AtST implements storage.StartTimestampIterator.
func (m *mergedIterator) AtST() int64 {
	if m.i < 0 || m.i >= len(m.samples) {
		return 0
	}
	return m.samples[m.i].st
}
