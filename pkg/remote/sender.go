package remote

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	promconfig "github.com/prometheus/prometheus/config"

	"github.com/graftlabs/graft/pkg/remote/queue"
)

// stopGrace is how long a stopping sender lets requests in flight finish,
// so that a reload or shutdown does not resend what the receiver already
// took; what is not done by then is resent from the queue later.
const stopGrace = 5 * time.Second

// defaultReshardInterval is how often a sender reconsiders its shard count.
const defaultReshardInterval = 10 * time.Second

// sender reads one endpoint's queue and sends it: a dispatcher reads
// records in order and hands each series to the shard its label hash
// names, so that the samples of a series are sent in order; each shard
// batches, sends with retries, and reports to the tracker, which
// acknowledges the queue.
type sender struct {
	q      *queue.Queue
	cl     *client
	qc     promconfig.QueueConfig
	m      *endpointMetrics
	logger *slog.Logger
	st     *endpointState
	tr     tracker

	soft, hard     context.Context // soft: stop taking work; hard: abort requests
	cancelSoft     context.CancelFunc
	cancelHard     context.CancelFunc
	done           chan struct{}
	inflight       atomic.Int64 // samples read from the queue and not done
	failingBatches atomic.Int64 // batches being retried right now
	reshardEvery   time.Duration
}

func newSender(q *queue.Queue, cl *client, qc promconfig.QueueConfig, m *endpointMetrics, st *endpointState, logger *slog.Logger) *sender {
	s := &sender{q: q, cl: cl, qc: qc, m: m, st: st, logger: logger, done: make(chan struct{}), reshardEvery: defaultReshardInterval}
	s.soft, s.cancelSoft = context.WithCancel(context.Background())
	s.hard, s.cancelHard = context.WithCancel(context.Background())
	return s
}

func (s *sender) start() { go s.run() }

// stop stops reading, lets requests in flight finish within stopGrace and
// returns once every goroutine is gone.
func (s *sender) stop() {
	s.cancelSoft()
	select {
	case <-s.done:
	case <-time.After(stopGrace):
		s.cancelHard()
		<-s.done
	}
	s.cancelHard()
}

// run dispatches records until the sender stops, resharding between
// records when the backlog asks for it.
func (s *sender) run() {
	defer close(s.done)
	n := s.qc.MinShards
	sh := s.startShards(n)
	defer func() { sh.stop() }()
	lastReshard := time.Now()
	for {
		if time.Since(lastReshard) >= s.reshardEvery {
			lastReshard = time.Now()
			if want := s.desiredShards(n); want != n {
				s.logger.Info("Remote write resharding", "from", n, "to", want)
				next, ok := sh.handOver(s.soft, func() *shardSet { return s.startShards(want) })
				if !ok {
					return
				}
				n, sh = want, next
			}
		}
		ctx, cancel := context.WithTimeout(s.soft, s.reshardEvery)
		rec, err := s.q.Next(ctx)
		cancel()
		switch {
		case s.soft.Err() != nil || errors.Is(err, queue.ErrClosed):
			return
		case errors.Is(err, context.DeadlineExceeded):
			continue
		case err != nil:
			s.logger.Error("Reading the remote-write queue failed", "err", err)
			continue
		}
		if !s.dispatch(rec, sh) {
			return
		}
	}
}

// dispatch hands the series of one record to their shards. It returns
// false when the sender stopped meanwhile.
func (s *sender) dispatch(rec queue.Record, sh *shardSet) bool {
	if rec.Expired {
		s.m.dropped.WithLabelValues("too_old").Add(float64(rec.Items))
		s.tr.add(rec.End, 0)
		s.ack(nil)
		return true
	}
	req, err := decodeRecord(rec.Payload)
	if err != nil {
		s.logger.Error("Dropping an unreadable remote-write queue record", "err", err)
		s.m.dropped.WithLabelValues("corrupt").Add(float64(rec.Items))
		s.tr.add(rec.End, 0)
		s.ack(nil)
		return true
	}
	s.inflight.Add(int64(rec.Items))
	seq := s.tr.add(rec.End, len(req.Timeseries))
	if len(req.Timeseries) == 0 {
		s.ack(nil)
	}
	for i := range req.Timeseries {
		ts := &req.Timeseries[i]
		if !sh.enqueue(s.soft, item{ts: ts, seq: seq}) {
			return false
		}
	}
	return true
}

// ack tells the tracker a batch is done and moves the queue's position.
func (s *sender) ack(counts []seqCount) {
	pos, ok := s.tr.done(counts)
	if !ok {
		return
	}
	if err := s.q.Ack(pos); err != nil && !errors.Is(err, queue.ErrClosed) {
		s.logger.Error("Recording the remote-write queue position failed", "err", err)
	}
}

// desiredShards doubles the shards while a backlog of more than one
// batch per shard builds up and sends succeed, and halves them when the
// backlog is gone. While the endpoint fails, more shards would only fail
// more: the count stays.
func (s *sender) desiredShards(n int) int {
	if s.failingBatches.Load() > 0 {
		return n
	}
	backlog := int64(s.q.Stats().Unread) + s.inflight.Load()
	perSend := int64(s.qc.MaxSamplesPerSend)
	switch {
	case backlog > perSend*int64(n) && n < s.qc.MaxShards:
		return min(n*2, s.qc.MaxShards)
	case backlog < perSend && n > s.qc.MinShards:
		return max(n/2, s.qc.MinShards)
	}
	return n
}
