package queue

// The acknowledged position: kept in memory, written to the ack file, and
// read back on open.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"

	"github.com/graftlabs/graft/pkg/storage/tsdb/fileutil"
)

// Ack records that every record up to pos is done with (sent, or given
// up on). Segments wholly before it are deleted, and pos is written to the
// ack file, where a restart starts reading.
func (q *Queue) Ack(pos Position) error {
	q.mtx.Lock()
	if q.closed {
		q.mtx.Unlock()
		return ErrClosed
	}
	if !q.acked.Before(pos) {
		q.mtx.Unlock()
		return nil
	}
	q.acked = pos
	var errs []error
	for len(q.segs) > 1 && q.segs[0].num < pos.Segment {
		seg := q.segs[0]
		if q.r != nil && q.rnum == seg.num {
			q.closeReaderLocked()
		}
		if err := os.Remove(segmentName(q.dir, seg.num)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove acknowledged queue segment %d: %w", seg.num, err))
		}
		q.segs = q.segs[1:]
		q.size -= seg.size
	}
	q.mtx.Unlock()
	errs = append(errs, q.persistAck(false))
	return errors.Join(errs...)
}

// ackFile encodes a position: segment uint64 | offset uint64 | CRC-32C uint32.
func encodeAck(p Position) []byte {
	b := make([]byte, 20)
	binary.LittleEndian.PutUint64(b[0:], uint64(p.Segment))
	binary.LittleEndian.PutUint64(b[8:], uint64(p.Offset))
	binary.LittleEndian.PutUint32(b[16:], crc32.Checksum(b[:16], castagnoli))
	return b
}

func decodeAck(b []byte) (Position, error) {
	if len(b) != 20 || crc32.Checksum(b[:16], castagnoli) != binary.LittleEndian.Uint32(b[16:]) {
		return Position{}, errors.New("corrupt acknowledged position")
	}
	return Position{Segment: int(binary.LittleEndian.Uint64(b[0:])), Offset: int64(binary.LittleEndian.Uint64(b[8:]))}, nil
}

// persistAck writes the acknowledged position through a renamed temporary
// file: a crash leaves the old position or the new, never a torn one. It is
// written after every acknowledgement, because a receiver such as
// Prometheus refuses a whole request holding samples it already has, so
// that resending less is better than resending more. Without durable the
// file is not fsynced: a power loss may resend a little more.
func (q *Queue) persistAck(durable bool) error {
	q.ackMtx.Lock()
	defer q.ackMtx.Unlock()
	q.mtx.Lock()
	pos := q.acked
	q.mtx.Unlock()
	if pos == q.ackPersisted && !durable {
		return nil
	}
	path := filepath.Join(q.dir, ackFileName)
	if durable {
		if err := fileutil.WriteFileAtomic(path, encodeAck(pos)); err != nil {
			return fmt.Errorf("write queue position: %w", err)
		}
	} else {
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, encodeAck(pos), 0o644); err != nil {
			return fmt.Errorf("write queue position: %w", err)
		}
		if err := os.Rename(tmp, path); err != nil {
			return fmt.Errorf("write queue position: %w", err)
		}
	}
	q.ackPersisted = pos
	return nil
}

// restoreAck reads the ack file at open and places the consumer there.
// A missing or corrupt file means nothing was acknowledged: every record
// is read again.
func (q *Queue) restoreAck() error {
	b, err := os.ReadFile(filepath.Join(q.dir, ackFileName))
	var pos Position
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return fmt.Errorf("read queue position: %w", err)
	default:
		if pos, err = decodeAck(b); err != nil {
			q.logger.Warn("Remote-write queue position is corrupt; resending the whole queue", "err", err)
		}
	}
	q.acked = q.clampLocked(pos)
	q.ackPersisted = q.acked
	for len(q.segs) > 1 && q.segs[0].num < q.acked.Segment {
		seg := q.segs[0]
		if err := os.Remove(segmentName(q.dir, seg.num)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove acknowledged queue segment %d: %w", seg.num, err)
		}
		q.segs = q.segs[1:]
		q.size -= seg.size
	}
	return q.rewindLocked()
}

// clampLocked moves p into the queue's valid range: into the oldest segment
// when it is older, to the end of its segment when a cut-off tail ended it
// earlier.
func (q *Queue) clampLocked(p Position) Position {
	for _, s := range q.segs {
		switch {
		case s.num < p.Segment:
			continue
		case s.num > p.Segment:
			return Position{Segment: s.num}
		}
		return Position{Segment: s.num, Offset: min(p.Offset, s.size)}
	}
	last := q.segs[len(q.segs)-1]
	return Position{Segment: last.num, Offset: last.size}
}
