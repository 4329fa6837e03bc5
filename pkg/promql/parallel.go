package promql

import "sync"

// parallelMinPoints is the least work (series times steps) worth spreading
// over goroutines; below it the coordination costs more than it saves.
const parallelMinPoints = 20_000

// parallel runs work(i) for every i in [0, n). Each goroutine builds its own
// work function with newWorker, so that iterators and buffers are reused
// within a goroutine and never shared. The first error stops the rest.
func (ev *evaluator) parallel(n int, newWorker func() func(i int) error) error {
	workers := min(ev.opts.parallelism, n)
	if workers <= 1 || n*max(ev.steps, 1) < parallelMinPoints {
		return ev.sequential(n, newWorker())
	}
	var (
		wg    sync.WaitGroup
		next  = make(chan int, workers)
		errMu sync.Mutex
		first error
	)
	failed := func() bool {
		errMu.Lock()
		defer errMu.Unlock()
		return first != nil
	}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work := newWorker()
			for i := range next {
				if failed() {
					continue
				}
				err := ev.checkCtx()
				if err == nil {
					err = work(i)
				}
				if err != nil {
					errMu.Lock()
					if first == nil {
						first = err
					}
					errMu.Unlock()
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return first
}

func (ev *evaluator) sequential(n int, work func(i int) error) error {
	for i := range n {
		if i%64 == 0 {
			if err := ev.checkCtx(); err != nil {
				return err
			}
		}
		if err := work(i); err != nil {
			return err
		}
	}
	return nil
}
