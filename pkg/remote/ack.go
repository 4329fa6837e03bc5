package remote

import (
	"sync"

	"github.com/graftlabs/graft/pkg/remote/queue"
)

// tracker turns shard completions, which come in any order, into the
// queue position up to which everything is done: a record counts as done
// when every series the dispatcher handed out of it has been sent or given
// up on, and the position only moves past records that are all done, so
// that a restart resends everything not known to be done.
type tracker struct {
	mtx     sync.Mutex
	base    uint64 // sequence number of pending[0]
	pending []trackedRecord
}

type trackedRecord struct {
	end  queue.Position
	left int
}

// seqCount is how many series of record seq a batch held.
type seqCount struct {
	seq uint64
	n   int
}

// add registers a record whose n series are handed to shards and returns
// its sequence number. A record with n == 0 is done at once.
func (t *tracker) add(end queue.Position, n int) uint64 {
	t.mtx.Lock()
	defer t.mtx.Unlock()
	t.pending = append(t.pending, trackedRecord{end: end, left: n})
	return t.base + uint64(len(t.pending)-1)
}

// done marks the series of a batch done and returns the position to
// acknowledge, if it moved.
func (t *tracker) done(counts []seqCount) (queue.Position, bool) {
	t.mtx.Lock()
	defer t.mtx.Unlock()
	for _, c := range counts {
		t.pending[c.seq-t.base].left -= c.n
	}
	i := 0
	for i < len(t.pending) && t.pending[i].left == 0 {
		i++
	}
	if i == 0 {
		return queue.Position{}, false
	}
	pos := t.pending[i-1].end
	// Copy down rather than reslice, so that the array does not grow forever.
	t.pending = t.pending[:copy(t.pending, t.pending[i:])]
	t.base += uint64(i)
	return pos, true
}
