package remote

import (
	"context"
	"errors"
	"hash/fnv"
	"math"
	"sync"
	"time"

	"github.com/prometheus/prometheus/prompb"
)

// item is one series of a record, bound for one shard.
type item struct {
	ts  *prompb.TimeSeries
	seq uint64
}

type shardSet struct {
	shards []*shard
	wg     sync.WaitGroup
}

func (s *sender) startShards(n int) *shardSet {
	set := &shardSet{}
	for range n {
		sh := &shard{s: s, ch: make(chan item, s.qc.Capacity), quit: make(chan struct{})}
		set.shards = append(set.shards, sh)
		set.wg.Add(1)
		go func() {
			defer set.wg.Done()
			sh.run()
		}()
	}
	s.m.shards.Set(float64(n))
	s.st.setShards(n)
	return set
}

// enqueue hands it to the shard of its series, waiting while that shard
// is full; false when ctx ended first.
func (set *shardSet) enqueue(ctx context.Context, it item) bool {
	h := fnv.New64a()
	for _, l := range it.ts.Labels {
		_, _ = h.Write([]byte(l.Name))
		_, _ = h.Write([]byte{0xff})
		_, _ = h.Write([]byte(l.Value))
		_, _ = h.Write([]byte{0xff})
	}
	sh := set.shards[h.Sum64()%uint64(len(set.shards))]
	select {
	case sh.ch <- it:
		return true
	case <-ctx.Done():
		return false
	}
}

// handOver replaces the shards: they send the batch they are building and
// stop; only then do the new shards (from start) begin, and the series
// still waiting in the old shards' inputs are handed to them first, in
// their order, so that no series is ever sent out of order. It returns
// false when ctx ended first.
func (set *shardSet) handOver(ctx context.Context, start func() *shardSet) (*shardSet, bool) {
	for _, sh := range set.shards {
		close(sh.quit)
	}
	set.wg.Wait()
	if ctx.Err() != nil {
		return nil, false
	}
	next := start()
	for _, sh := range set.shards {
		for len(sh.ch) > 0 {
			if !next.enqueue(ctx, <-sh.ch) {
				next.stop()
				return nil, false
			}
		}
	}
	return next, true
}

// stop waits for shards that stop on the sender's context.
func (set *shardSet) stop() { set.wg.Wait() }

// shard batches the series it is handed and sends them in order.
type shard struct {
	s    *sender
	ch   chan item
	quit chan struct{} // closed by handOver: send the batch built so far and stop

	batch   []prompb.TimeSeries
	counts  []seqCount
	samples int // samples, histograms and exemplars in batch
	items   int // samples and histograms in batch
	maxT    int64
}

func (sh *shard) run() {
	deadline := time.Duration(sh.s.qc.BatchSendDeadline)
	var timer *time.Timer
	var expired <-chan time.Time
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		select {
		case <-sh.quit:
			if len(sh.batch) > 0 {
				sh.flush()
			}
			return
		case it := <-sh.ch:
			sh.add(it)
			if expired == nil {
				timer = time.NewTimer(deadline)
				expired = timer.C
			}
			if sh.samples >= sh.s.qc.MaxSamplesPerSend {
				timer.Stop()
				expired = nil
				if !sh.flush() {
					return
				}
			}
		case <-expired:
			expired = nil
			if !sh.flush() {
				return
			}
		case <-sh.s.soft.Done():
			return // what is not sent stays in the queue, unacknowledged
		}
	}
}

func (sh *shard) add(it item) {
	ts := it.ts
	sh.batch = append(sh.batch, *ts)
	if n := len(sh.counts); n > 0 && sh.counts[n-1].seq == it.seq {
		sh.counts[n-1].n++
	} else {
		sh.counts = append(sh.counts, seqCount{seq: it.seq, n: 1})
	}
	sh.samples += len(ts.Samples) + len(ts.Histograms) + len(ts.Exemplars)
	sh.items += len(ts.Samples) + len(ts.Histograms)
	if len(sh.batch) == 1 {
		sh.maxT = math.MinInt64
	}
	for _, x := range ts.Samples {
		sh.maxT = max(sh.maxT, x.Timestamp)
	}
	for _, x := range ts.Histograms {
		sh.maxT = max(sh.maxT, x.Timestamp)
	}
}

// flush sends the batch, retrying recoverable errors, and reports it done.
// It returns false when the sender stopped before the batch was done: the
// batch is then left unacknowledged, to be resent from the queue.
func (sh *shard) flush() bool {
	s := sh.s
	req := &prompb.WriteRequest{Timeseries: sh.batch}
	read := sh.items // what the dispatcher counted in flight
	backoff := time.Duration(s.qc.MinBackoff)
	failing := false
	defer func() {
		if failing {
			s.failingBatches.Add(-1)
		}
	}()
	for {
		if s.soft.Err() != nil && failing {
			return false // do not keep retrying through a shutdown
		}
		if !sh.dropTooOld() {
			break // nothing left within sample_age_limit
		}
		req.Timeseries = sh.batch
		start := time.Now()
		n, err := s.cl.store(s.hard, req)
		s.m.sentBatches.Observe(time.Since(start).Seconds())
		s.m.sentBytes.Add(float64(n))
		if err == nil {
			s.m.sent.Add(float64(sh.items))
			if sh.maxT != math.MinInt64 {
				s.st.sent(sh.maxT)
				s.m.highestSentTS.Set(float64(s.st.highestSent()) / 1000)
			}
			break
		}
		if s.hard.Err() != nil {
			return false // aborted by stop: not done
		}
		var serr *sendError
		if !errors.As(err, &serr) || !serr.retryable {
			s.m.failed.Add(float64(sh.items))
			s.st.failed(err)
			s.logger.Error("Remote write refused a batch; not sending it again",
				"status", statusOf(serr), "samples", sh.items, "err", err)
			break
		}
		if !failing {
			failing = true
			s.failingBatches.Add(1)
		}
		s.st.failed(err)
		s.m.retried.Add(float64(sh.items))
		wait := backoff
		if serr.retryAfter > 0 {
			wait = serr.retryAfter
		}
		s.logger.Warn("Remote write failed; retrying", "status", statusOf(serr), "in", wait, "err", err)
		select {
		case <-time.After(wait):
		case <-s.soft.Done():
			return false
		}
		backoff = min(backoff*2, time.Duration(s.qc.MaxBackoff))
	}
	s.inflight.Add(-int64(read))
	s.ack(sh.counts)
	sh.batch, sh.counts, sh.samples, sh.items = sh.batch[:0], sh.counts[:0], 0, 0
	clear(sh.batch[:cap(sh.batch)]) // drop references to sent series
	return true
}

// dropTooOld applies queue_config.sample_age_limit before each attempt: samples
// older than the limit are dropped and counted. It returns false when
// nothing is left to send.
func (sh *shard) dropTooOld() bool {
	limit := time.Duration(sh.s.qc.SampleAgeLimit)
	if limit <= 0 {
		return true
	}
	cutoff := time.Now().Add(-limit).UnixMilli()
	dropped := 0
	for i := range sh.batch {
		ts := &sh.batch[i]
		n := len(ts.Samples) + len(ts.Histograms)
		ts.Samples = slicesDeleteOld(ts.Samples, func(x prompb.Sample) bool { return x.Timestamp < cutoff })
		ts.Histograms = slicesDeleteOld(ts.Histograms, func(x prompb.Histogram) bool { return x.Timestamp < cutoff })
		dropped += n - len(ts.Samples) - len(ts.Histograms)
	}
	if dropped > 0 {
		sh.s.m.dropped.WithLabelValues("sample_age_limit").Add(float64(dropped))
		sh.items -= dropped
	}
	// Series left with nothing to send are not sent; the acknowledgement
	// counts (sh.counts) are by series handed out and stay as they are.
	sh.batch = slicesDeleteOld(sh.batch, func(ts prompb.TimeSeries) bool {
		return len(ts.Samples)+len(ts.Histograms)+len(ts.Exemplars) == 0
	})
	return len(sh.batch) > 0
}

func slicesDeleteOld[T any](s []T, old func(T) bool) []T {
	out := s[:0]
	for _, x := range s {
		if !old(x) {
			out = append(out, x)
		}
	}
	return out
}

func statusOf(e *sendError) int {
	if e == nil {
		return 0
	}
	return e.status
}
