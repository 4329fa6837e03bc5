package tsdb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/storage/tsdb/chunkenc"
	"github.com/graftlabs/graft/pkg/storage/tsdb/encoding"
	"github.com/graftlabs/graft/pkg/storage/tsdb/fileutil"
	"github.com/graftlabs/graft/pkg/storage/tsdb/record"
	"github.com/graftlabs/graft/pkg/storage/tsdb/wal"
)

// A checkpoint is a snapshot of the head written as WAL-framed records in
// wal/checkpoint.NNNNNNNN: it holds everything logged in the segments below
// NNNNNNNN, which are then removed. Series carry their chunks as they are
// in memory, so loading a checkpoint is a copy, not a re-encode.
const (
	typeSeriesChunks record.Type = 20
	typeHeadMeta     record.Type = 21
	checkpointPrefix             = "checkpoint."
)

func checkpointDir(walDir string, n int) string {
	return filepath.Join(walDir, fmt.Sprintf("%s%08d", checkpointPrefix, n))
}

// lastCheckpoint finds the newest complete checkpoint; -1 when none.
func lastCheckpoint(walDir string) (int, error) {
	entries, err := os.ReadDir(walDir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return -1, nil
		}
		return -1, err
	}
	last := -1
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || !strings.HasPrefix(name, checkpointPrefix) || strings.HasSuffix(name, ".tmp") {
			continue
		}
		n, err := strconv.Atoi(strings.TrimPrefix(name, checkpointPrefix))
		if err == nil && n > last {
			last = n
		}
	}
	return last, nil
}

func encodeSeriesChunks(b []byte, s *memSeries, lset labels.Labels) []byte {
	b = append(b, byte(typeSeriesChunks))
	b = binary.AppendUvarint(b, s.ref)
	b = binary.AppendUvarint(b, uint64(lset.Len()))
	lset.Range(func(l labels.Label) {
		b = binary.AppendUvarint(b, uint64(len(l.Name)))
		b = append(b, l.Name...)
		b = binary.AppendUvarint(b, uint64(len(l.Value)))
		b = append(b, l.Value...)
	})
	chunks := s.sealed
	if s.open != nil && s.open.NumSamples() > 0 {
		chunks = append(slices.Clip(chunks), sealedChunk{minT: s.openMinT, maxT: s.maxT.Load(),
			data: s.open.Bytes(), enc: s.open.Encoding()})
	}
	b = binary.AppendUvarint(b, uint64(len(chunks)))
	for _, c := range chunks {
		b = append(b, byte(c.enc))
		b = binary.AppendVarint(b, c.minT)
		b = binary.AppendVarint(b, c.maxT)
		b = binary.AppendUvarint(b, uint64(len(c.data)))
		b = append(b, c.data...)
	}
	if s.open != nil && s.open.NumSamples() > 0 {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	// Late samples follow, as float chunks (the buffer coded as one); a
	// checkpoint written before they existed ends here.
	late := s.oooSnapshot(math.MinInt64, math.MaxInt64, false, nil)
	if len(late) == 0 {
		return b
	}
	b = binary.AppendUvarint(b, uint64(len(late)))
	for _, c := range late {
		b = append(b, byte(c.chunk.Enc))
		b = binary.AppendVarint(b, c.minT)
		b = binary.AppendVarint(b, c.maxT)
		b = binary.AppendUvarint(b, uint64(len(c.chunk.Data)))
		b = append(b, c.chunk.Data...)
	}
	return b
}

// decodeSeriesChunks restores a series from a checkpoint record; its labels
// are returned for the caller to intern.
func decodeSeriesChunks(b []byte, blockRange int64) (*memSeries, labels.Labels, error) {
	r := encoding.New(b[1:], record.ErrTruncated)
	ref := r.Uvarint()
	n := r.Uvarint()
	var sb labels.ScratchBuilder
	for i := uint64(0); i < n && r.Err() == nil; i++ {
		name := string(r.UvarintBytes())
		value := string(r.UvarintBytes())
		sb.Add(name, value)
	}
	sb.Sort()
	lset := sb.Labels()
	s := newMemSeries(ref, "")
	nc := r.Uvarint()
	var chunks []sealedChunk
	for i := uint64(0); i < nc && r.Err() == nil; i++ {
		encB := r.Bytes(1)
		if r.Err() != nil {
			break
		}
		enc := chunkenc.Encoding(encB[0])
		minT, maxT := r.Varint(), r.Varint()
		data := slices.Clone(r.UvarintBytes())
		chunks = append(chunks, sealedChunk{minT: minT, maxT: maxT, data: data, enc: enc})
	}
	flag := r.Bytes(1)
	open := len(flag) == 1 && flag[0] == 1
	if r.Err() == nil && len(r.B) > 0 {
		n := r.Uvarint()
		for i := uint64(0); i < n && r.Err() == nil; i++ {
			encB := r.Bytes(1)
			minT, maxT := r.Varint(), r.Varint()
			data := slices.Clone(r.UvarintBytes())
			if r.Err() != nil {
				break
			}
			enc := chunkenc.Encoding(encB[0])
			if err := chunkenc.Validate(enc); err != nil {
				return nil, lset, fmt.Errorf("late chunk of series %d: %w", ref, err)
			}
			if s.ooo == nil {
				s.ooo = &oooData{}
			}
			s.ooo.chunks = append(s.ooo.chunks, oooChunk{headChunk: headChunk{minT: minT, maxT: maxT, chunk: chunkenc.RawChunk{Enc: enc, Data: data}}})
		}
	}
	if r.Err() != nil {
		return nil, lset, r.Err()
	}
	if len(chunks) == 0 {
		return s, lset, nil
	}
	s.maxT.Store(chunks[len(chunks)-1].maxT)
	if open {
		last := chunks[len(chunks)-1]
		chunks = chunks[:len(chunks)-1]
		var err error
		if err = chunkenc.Validate(last.enc); err == nil {
			s.open, err = chunkenc.Reopen(last.raw())
		}
		if err != nil {
			return nil, lset, fmt.Errorf("reopen chunk of series %d: %w", ref, err)
		}
		s.openMinT = last.minT
	}
	s.sealed = chunks
	return s, lset, nil
}

// checkpoint snapshots the head into a checkpoint that replaces every WAL
// segment written so far.
func (h *Head) checkpoint(logger *slog.Logger) error {
	if h.wal == nil {
		return nil
	}
	release := h.exclusive()
	n, err := h.wal.Cut()
	minValid, lastRef := h.minValidTime.Load(), h.lastRef.Load()
	release()
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	dir := checkpointDir(h.wal.Dir(), n)
	tmp := dir + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	cw, err := wal.Open(tmp, wal.Options{Fsync: wal.FsyncSegment, SegmentSize: 256 << 20})
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	meta := binary.AppendVarint([]byte{byte(typeHeadMeta)}, minValid)
	meta = binary.AppendUvarint(meta, lastRef)
	if err := cw.Log(meta); err != nil {
		cw.Close()
		return fmt.Errorf("checkpoint: %w", err)
	}
	var buf []byte
	var werr error
	h.series.forEach(func(s *memSeries) {
		if werr != nil {
			return
		}
		s.mtx.Lock()
		buf = encodeSeriesChunks(buf[:0], s, h.labelsOf(s))
		s.mtx.Unlock()
		werr = cw.Log(buf)
	})
	// Dropped series whose exemplars remain: their labels, so that a
	// restart can still answer for those exemplars (replay makes them
	// series without samples, which the next truncation drops again).
	var orphans []record.RefSeries
	for ref, lset := range h.exemplars.orphanLabels() {
		orphans = append(orphans, record.RefSeries{Ref: ref, Labels: lset})
	}
	if len(orphans) > 0 && werr == nil {
		werr = cw.Log(record.EncodeSeries(nil, orphans))
	}
	var exs []record.RefExemplar
	h.exemplars.each(func(ref uint64, e exemplar.Exemplar) {
		exs = append(exs, record.RefExemplar{Ref: ref, T: e.Ts, V: e.Value, HasTs: e.HasTs, Labels: e.Labels})
	})
	for len(exs) > 0 && werr == nil {
		k := min(len(exs), 10000)
		werr = cw.Log(record.EncodeExemplars(nil, exs[:k]))
		exs = exs[k:]
	}
	if err := cw.Close(); werr == nil {
		werr = err
	}
	if werr != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("write checkpoint: %w", werr)
	}
	if err := fileutil.RenameDir(tmp, dir); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := h.wal.Truncate(n); err != nil {
		return err
	}
	// Older checkpoints are superseded.
	entries, _ := os.ReadDir(h.wal.Dir())
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), checkpointPrefix) && e.Name() != filepath.Base(dir) {
			if err := os.RemoveAll(filepath.Join(h.wal.Dir(), e.Name())); err != nil {
				logger.Warn("Removing old checkpoint failed", "dir", e.Name(), "err", err)
			}
		}
	}
	return nil
}

// replayStats say what a replay found.
type replayStats struct {
	records, samples, unknownRefs int
	repaired                      bool
}

// replay rebuilds the head from the newest checkpoint and the segments after
// it, cutting a corrupt tail off the WAL.
func (h *Head) replay(walDir string, logger *slog.Logger) (replayStats, error) {
	var st replayStats
	cp, err := lastCheckpoint(walDir)
	if err != nil {
		return st, err
	}
	first := 0
	if cp >= 0 {
		if err := h.replayDir(checkpointDir(walDir, cp), 0, &st); err != nil {
			return st, fmt.Errorf("load checkpoint %d (remove it to start from the WAL segments alone, losing what it holds): %w", cp, err)
		}
		first = cp
	}
	err = h.replayDir(walDir, first, &st)
	var corrupt *wal.CorruptionError
	if errors.As(err, &corrupt) {
		logger.Warn("WAL ends in a corrupt or torn record; cutting it back to the last valid record", "segment", corrupt.Segment, "offset", corrupt.Offset, "err", corrupt.Err)
		if err := wal.Repair(walDir, corrupt); err != nil {
			return st, fmt.Errorf("repair WAL: %w", err)
		}
		st.repaired = true
		err = nil
	}
	if err != nil {
		return st, err
	}
	h.postings.EnsureOrder()
	// Series the checkpoint or WAL defined but that hold no samples (their
	// samples went to blocks) are not worth keeping.
	return st, nil
}

func (h *Head) replayDir(dir string, first int, st *replayStats) error {
	r, err := wal.NewReader(dir, first)
	if err != nil {
		return err
	}
	defer r.Close()
	var (
		dec     record.Decoder
		series  []record.RefSeries
		samples []record.RefSample
		hists   []record.RefHistogram
		exs     []record.RefExemplar
	)
	shards := h.startReplayShards(st)
	defer shards.wait()
	for r.Next() {
		rec := r.Record()
		st.records++
		var err error
		// Samples records carrying start timestamps have the type of
		// those that do not, flagged.
		switch record.TypeOf(rec).Base() {
		case typeHeadMeta:
			br := encoding.New(rec[1:], record.ErrTruncated)
			minValid, lastRef := br.Varint(), br.Uvarint()
			if br.Err() != nil {
				return fmt.Errorf("checkpoint meta: %w", br.Err())
			}
			h.minValidTime.Store(max(h.minValidTime.Load(), minValid))
			h.bumpRef(lastRef)
		case typeSeriesChunks:
			s, lset, derr := decodeSeriesChunks(rec, h.blockRange)
			if derr != nil {
				return fmt.Errorf("checkpoint series: %w", derr)
			}
			h.restore(s, lset)
		case record.TypeSeries:
			if series, err = dec.Series(rec, series[:0]); err == nil {
				for _, s := range series {
					h.bumpRef(s.Ref)
					if h.series.getByRef(s.Ref) == nil {
						ms := h.create(s.Labels.Hash(), s.Ref, s.Labels)
						ms.logged.Store(true)
					}
				}
			}
		case record.TypeSamples, record.TypeOOOSamples:
			if samples, err = dec.Samples(rec, samples[:0]); err == nil {
				shards.addFloats(samples, record.Late(record.TypeOf(rec)))
			}
		case record.TypeHistograms, record.TypeFloatHistogram, record.TypeOOOHistograms, record.TypeOOOFloatHistograms:
			if hists, err = dec.Histograms(rec, hists[:0]); err == nil {
				shards.addHistograms(hists, record.Late(record.TypeOf(rec)))
			}
		case record.TypeExemplars:
			if exs, err = dec.Exemplars(rec, exs[:0]); err == nil {
				for _, e := range exs {
					h.exemplars.add(e.Ref, exemplar.Exemplar{Labels: e.Labels, Value: e.V, Ts: e.T, HasTs: e.HasTs})
				}
			}
		default:
			err = fmt.Errorf("unknown record type %d", record.TypeOf(rec))
		}
		if err != nil {
			// A record with a valid checksum that does not decode was
			// written by a broken or newer writer: stop like a corruption.
			return &wal.CorruptionError{Segment: r.Segment(), Err: fmt.Errorf("decode record: %w", err), Offset: r.Offset()}
		}
	}
	if err := r.Err(); err != nil {
		return err
	}
	return nil
}

func (h *Head) bumpRef(ref uint64) {
	for {
		cur := h.lastRef.Load()
		if ref <= cur || h.lastRef.CompareAndSwap(cur, ref) {
			return
		}
	}
}

// restore adds a series loaded from a checkpoint, with labels lset.
func (h *Head) restore(s *memSeries, lset labels.Labels) {
	if s.ooo != nil {
		for i := range s.ooo.chunks {
			s.ooo.chunks[i].seq = h.nextOOOSeq()
		}
	}
	h.bumpRef(s.ref)
	s.logged.Store(true)
	s.syms = h.symbols.intern(lset)
	got := h.add(lset.Hash(), lset, s)
	if got != s {
		return
	}
	if n := got.numSamples(); n > 0 {
		h.numSamples.Add(int64(n))
		h.updateBounds(got.minT(), got.maxT.Load())
	}
}
