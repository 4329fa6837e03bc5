package queue

// The size and age bounds: the oldest segments are dropped, unacknowledged
// or not, and what nobody read is reported.

import (
	"errors"
	"os"
	"time"
)

// enforceSizeLocked drops the oldest segments while the queue is larger
// than its bound. The segment being written is never dropped.
func (q *Queue) enforceSizeLocked() {
	for q.size > q.opts.MaxBytes && len(q.segs) > 1 {
		q.dropOldestLocked("queue_full")
	}
}

// dropExpiredLocked drops the oldest segments whose newest record is past
// the age bound.
func (q *Queue) dropExpiredLocked() {
	if q.opts.MaxAge <= 0 {
		return
	}
	cutoff := q.opts.Now().Add(-q.opts.MaxAge).UnixMilli()
	for len(q.segs) > 1 && q.segs[0].newest < cutoff {
		q.dropOldestLocked("too_old")
	}
}

// dropOldestLocked deletes the oldest segment, moving the consumer and the
// acknowledged position past it, and reports the items nobody read.
func (q *Queue) dropOldestLocked(reason string) {
	seg := q.segs[0]
	next := Position{Segment: q.segs[1].num}
	if q.r != nil && q.rnum == seg.num {
		q.closeReaderLocked()
	}
	if q.rpos.Before(next) {
		q.rpos = next
	}
	if q.acked.Before(next) {
		q.acked = next
	}
	if err := os.Remove(segmentName(q.dir, seg.num)); err != nil && !errors.Is(err, os.ErrNotExist) {
		q.logger.Error("Removing a remote-write queue segment failed", "segment", seg.num, "err", err)
	}
	q.segs = q.segs[1:]
	q.size -= seg.size
	if unread := seg.items - seg.read; unread > 0 {
		q.logger.Warn("Remote-write queue bound reached: dropping its oldest unsent records",
			"reason", reason, "items", unread, "segment", seg.num)
		q.opts.OnDrop(unread, reason)
	}
}

// SetLimits changes the bounds of a running queue (a reload); a smaller
// bound takes effect at once.
func (q *Queue) SetLimits(maxBytes int64, maxAge time.Duration) {
	q.mtx.Lock()
	defer q.mtx.Unlock()
	if maxBytes > 0 {
		q.opts.MaxBytes = maxBytes
	}
	q.opts.MaxAge = maxAge
	q.dropExpiredLocked()
	q.enforceSizeLocked()
}
