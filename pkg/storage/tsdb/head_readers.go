package tsdb

import (
	"sync"
	"time"
)

// readerEpochs tracks the queriers reading the head, by epoch, so that the
// head is truncated only after every querier opened before the block that
// now holds the truncated samples was added has finished.
type readerEpochs struct {
	mtx    sync.Mutex
	epoch  uint64
	counts map[uint64]int
}

// enter registers a reader in the current epoch.
func (r *readerEpochs) enter() uint64 {
	r.mtx.Lock()
	defer r.mtx.Unlock()
	if r.counts == nil {
		r.counts = map[uint64]int{}
	}
	r.counts[r.epoch]++
	return r.epoch
}

func (r *readerEpochs) exit(e uint64) {
	r.mtx.Lock()
	defer r.mtx.Unlock()
	if r.counts[e]--; r.counts[e] <= 0 {
		delete(r.counts, e)
	}
}

// advance starts a new epoch and returns it.
func (r *readerEpochs) advance() uint64 {
	r.mtx.Lock()
	defer r.mtx.Unlock()
	r.epoch++
	return r.epoch
}

// waitBefore waits until no reader of an epoch before e is left, or the
// timeout passes; it reports whether they all left.
func (r *readerEpochs) waitBefore(e uint64, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		r.mtx.Lock()
		busy := false
		for x := range r.counts {
			if x < e {
				busy = true
				break
			}
		}
		r.mtx.Unlock()
		if !busy {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}
