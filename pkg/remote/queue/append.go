package queue

// Appending: one writer segment at a time, cut when full, fsynced as the
// sync policy says.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"time"

	"github.com/graftlabs/graft/pkg/storage/tsdb/fileutil"
)

func (q *Queue) openWriter(n int) error {
	f, err := os.OpenFile(segmentName(q.dir, n), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("create queue segment %d: %w", n, err)
	}
	if err := fileutil.SyncDir(q.dir); err != nil {
		f.Close()
		return fmt.Errorf("sync queue directory: %w", err)
	}
	q.w = f
	q.segs = append(q.segs, &segment{num: n})
	return nil
}

// Append adds one record holding items items. It returns once the record
// is written (and with SyncAppend, on disk); on error nothing of it is in
// the queue.
func (q *Queue) Append(payload []byte, items int) error {
	if len(payload) == 0 || len(payload) > MaxRecordSize {
		return fmt.Errorf("queue record of %d bytes", len(payload))
	}
	now := q.opts.Now().UnixMilli()
	frame := make([]byte, headerSize, headerSize+len(payload))
	binary.LittleEndian.PutUint32(frame[0:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(frame[8:], uint32(items))
	binary.LittleEndian.PutUint64(frame[12:], uint64(now))
	binary.LittleEndian.PutUint32(frame[4:], crc32.Update(crc32.Checksum(frame[8:], castagnoli), castagnoli, payload))
	frame = append(frame, payload...)

	q.mtx.Lock()
	seq, err := q.appendLocked(frame, items, now)
	q.mtx.Unlock()
	if err != nil {
		return err
	}
	select {
	case q.notify <- struct{}{}:
	default:
	}
	if q.opts.Sync == SyncAppend {
		return q.syncUpTo(seq)
	}
	return nil
}

func (q *Queue) appendLocked(frame []byte, items int, now int64) (uint64, error) {
	if q.closed {
		return 0, ErrClosed
	}
	seg := q.segs[len(q.segs)-1]
	if q.broken || (seg.size > 0 && seg.size+int64(len(frame)) > q.opts.SegmentSize) {
		if err := q.cutLocked(); err != nil {
			return 0, err
		}
		q.broken = false
		seg = q.segs[len(q.segs)-1]
	}
	n, err := q.w.Write(frame)
	if err != nil {
		// Cut the partial write off, so that the segment ends on a whole record.
		if terr := q.w.Truncate(seg.size); terr != nil {
			q.broken = true
		} else if _, serr := q.w.Seek(seg.size, io.SeekStart); serr != nil {
			q.broken = true
		}
		return 0, fmt.Errorf("write queue segment %d: %w", seg.num, err)
	}
	seg.size += int64(n)
	seg.items += items
	seg.newest = now
	q.size += int64(n)
	q.written++
	q.enforceSizeLocked()
	return q.written, nil
}

// cutLocked completes the segment being written (fsynced) and starts the next.
func (q *Queue) cutLocked() error {
	if err := q.w.Sync(); err != nil {
		return fmt.Errorf("fsync queue segment: %w", err)
	}
	if err := q.w.Close(); err != nil {
		return fmt.Errorf("close queue segment: %w", err)
	}
	written := q.written
	if err := q.openWriter(q.segs[len(q.segs)-1].num + 1); err != nil {
		return err
	}
	if q.syncMtx.TryLock() {
		q.synced = max(q.synced, written)
		q.syncMtx.Unlock()
	}
	return nil
}

// syncUpTo returns once Append number seq is on disk; one fsync serves
// every append written before it started.
func (q *Queue) syncUpTo(seq uint64) error {
	q.syncMtx.Lock()
	defer q.syncMtx.Unlock()
	if q.synced >= seq {
		return nil
	}
	q.mtx.Lock()
	f, target := q.w, q.written
	q.mtx.Unlock()
	if err := f.Sync(); err != nil && !errors.Is(err, os.ErrClosed) {
		// ErrClosed: a cut synced and closed that segment meanwhile.
		return fmt.Errorf("fsync queue: %w", err)
	}
	q.synced = target
	return nil
}

func (q *Queue) syncLoop() {
	defer close(q.done)
	t := time.NewTicker(q.opts.SyncInterval)
	defer t.Stop()
	for {
		select {
		case <-q.stop:
			return
		case <-t.C:
			q.mtx.Lock()
			seq := q.written
			q.mtx.Unlock()
			if err := q.syncUpTo(seq); err != nil {
				q.logger.Error("Syncing the remote-write queue failed", "err", err)
			}
		}
	}
}
