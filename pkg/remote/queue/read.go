package queue

// Reading: one consumer walks the segments in order from its position.

import (
	"context"
	"fmt"
	"os"
	"time"
)

// Next returns the next record, waiting for one until ctx is done. Records
// past the age bound come back with Expired set.
func (q *Queue) Next(ctx context.Context) (Record, error) {
	for {
		q.mtx.Lock()
		if q.closed {
			q.mtx.Unlock()
			return Record{}, ErrClosed
		}
		rec, ok := q.readLocked()
		q.mtx.Unlock()
		if ok {
			return rec, nil
		}
		// The periodic wake-up applies the age bound while nothing is appended.
		t := time.NewTimer(time.Second)
		select {
		case <-ctx.Done():
			t.Stop()
			return Record{}, ctx.Err()
		case <-q.notify:
		case <-t.C:
		}
		t.Stop()
	}
}

// readLocked reads the record at the consumer's position, if there is one.
func (q *Queue) readLocked() (Record, bool) {
	q.dropExpiredLocked()
	for {
		i := q.segIndexLocked(q.rpos)
		seg := q.segs[i]
		if q.rpos.Offset >= seg.size {
			if i == len(q.segs)-1 {
				return Record{}, false // caught up with the writer
			}
			q.rpos = Position{Segment: q.segs[i+1].num}
			continue
		}
		rec, err := q.readRecordLocked(seg)
		if err != nil {
			// Only disk corruption gets here: the rest of the segment is lost.
			unread := seg.items - seg.read
			q.logger.Error("Remote-write queue segment is corrupt; skipping the rest of it",
				"segment", seg.num, "offset", q.rpos.Offset, "items", unread, "err", err)
			seg.read = seg.items
			q.opts.OnDrop(unread, "corrupt")
			q.rpos.Offset = seg.size
			continue
		}
		seg.read += rec.Items
		q.rpos = rec.End
		if q.opts.MaxAge > 0 && q.opts.Now().Sub(rec.AppendedAt) > q.opts.MaxAge {
			rec.Expired = true
		}
		return rec, true
	}
}

// segIndexLocked finds the segment of p, moving p to the oldest segment
// when a bound deleted its own.
func (q *Queue) segIndexLocked(p Position) int {
	for i, s := range q.segs {
		if s.num >= p.Segment {
			if s.num > p.Segment {
				q.rpos = Position{Segment: s.num}
			}
			return i
		}
	}
	last := len(q.segs) - 1
	q.rpos = Position{Segment: q.segs[last].num, Offset: q.segs[last].size}
	return last
}

func (q *Queue) readRecordLocked(seg *segment) (Record, error) {
	if q.r == nil || q.rnum != seg.num {
		q.closeReaderLocked()
		f, err := os.Open(segmentName(q.dir, seg.num))
		if err != nil {
			return Record{}, fmt.Errorf("open queue segment %d: %w", seg.num, err)
		}
		q.r, q.rnum = f, seg.num
	}
	h, payload, err := readFrame(q.r, q.rpos.Offset, seg.size, true)
	if err != nil {
		return Record{}, err
	}
	return Record{
		Payload:    payload,
		Items:      int(h.items),
		AppendedAt: time.UnixMilli(h.appendedAt),
		End:        Position{Segment: seg.num, Offset: q.rpos.Offset + headerSize + int64(len(payload))},
	}, nil
}

func (q *Queue) closeReaderLocked() {
	if q.r != nil {
		_ = q.r.Close() // read-only: nothing to lose
		q.r = nil
	}
}

// Rewind moves the consumer back to the acknowledged position, so that a
// new consumer (a sender restarted with a new configuration) reads what the
// old one had not finished.
func (q *Queue) Rewind() error {
	q.mtx.Lock()
	defer q.mtx.Unlock()
	if q.closed {
		return ErrClosed
	}
	return q.rewindLocked()
}

func (q *Queue) rewindLocked() error {
	q.closeReaderLocked()
	q.rpos = q.acked
	for _, s := range q.segs {
		s.read = 0
		if s.num != q.acked.Segment || q.acked.Offset == 0 {
			continue
		}
		n, err := q.itemsBefore(s, q.acked.Offset)
		if err != nil {
			return err
		}
		s.read = n
	}
	return nil
}

// itemsBefore counts the items of the records of s before off.
func (q *Queue) itemsBefore(s *segment, off int64) (int, error) {
	f, err := os.Open(segmentName(q.dir, s.num))
	if err != nil {
		return 0, fmt.Errorf("open queue segment %d: %w", s.num, err)
	}
	defer f.Close()
	var items int
	for at := int64(0); at < off; {
		h, _, err := readFrame(f, at, s.size, false)
		if err != nil {
			return items, nil // the consumer's read reports it
		}
		items += int(h.items)
		at += headerSize + h.skipped
	}
	return items, nil
}
