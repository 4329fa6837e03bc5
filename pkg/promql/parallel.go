package promql

import (
	"sync"
	"sync/atomic"
)

// parallelMinPoints is the least work (series times steps) worth spreading
// over goroutines; below it the coordination costs more than it saves.
const parallelMinPoints = 20_000

// seriesWorker does the work of one series; one per goroutine.
type seriesWorker interface {
	run(i int) error
}

// parallel runs the work of series i for every i in [0, n). Each goroutine
// gets its own worker from newWorker, so that iterators, buffers and point
// arenas are reused within a goroutine and never shared. The first error
// stops the rest. Work is spread only over storages that allow concurrent
// reads.
func (ev *evaluator) parallel(n int, newWorker func(a *pointArena) seriesWorker) error {
	workers := min(ev.opts.parallelism, n)
	if !ev.concurrentReads || workers <= 1 || n*max(ev.steps, 1) < parallelMinPoints {
		return ev.sequential(n, newWorker(ev.arena))
	}
	var (
		wg     sync.WaitGroup
		next   atomic.Int64 // the next index to take: no channel hand-offs
		failed atomic.Bool
		errMu  sync.Mutex
		first  error
	)
	arenas := make([]*pointArena, workers)
	for w := range workers {
		arenas[w] = newArena(ev.arena.pool)
		wg.Add(1)
		go func() {
			defer wg.Done()
			work := newWorker(arenas[w])
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				err := ev.checkCtx()
				if err == nil {
					err = work.run(i)
				}
				if err != nil {
					errMu.Lock()
					if first == nil {
						first = err
					}
					errMu.Unlock()
					failed.Store(true)
				}
			}
		}()
	}
	wg.Wait()
	for _, a := range arenas {
		ev.arena.adopt(a)
	}
	return first
}

func (ev *evaluator) sequential(n int, work seriesWorker) error {
	for i := range n {
		// Every 64 series; the evaluator checked before the node.
		if i%64 == 63 {
			if err := ev.checkCtx(); err != nil {
				return err
			}
		}
		if err := work.run(i); err != nil {
			return err
		}
	}
	return nil
}
