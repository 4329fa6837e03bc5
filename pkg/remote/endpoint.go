package remote

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/graftlabs/graft/pkg/remote/queue"
)

// endpoint is one remote_write entry: its encoder (relabeling, external
// labels), its durable queue, written at commit, and the sender that
// drains the queue to the receiver.
type endpoint struct {
	spec   spec
	enc    *encoder
	q      *queue.Queue
	snd    *sender
	m      *endpointMetrics
	st     *endpointState
	logger *slog.Logger
}

func newEncoder(s spec) *encoder {
	return &encoder{
		external: s.external, relabel: s.cfg.WriteRelabelConfigs,
		sendExemplars: s.cfg.SendExemplars, sendHistograms: s.cfg.SendNativeHistograms,
	}
}

// openQueue opens the endpoint's queue in dir/<id>, reporting what its
// bounds drop to the endpoint's metrics.
func openQueue(dir string, s spec, cfg Config, m *endpointMetrics, logger *slog.Logger) (*queue.Queue, error) {
	q, err := queue.Open(filepath.Join(dir, s.id), queue.Options{
		MaxBytes: cfg.MaxQueueBytes, MaxAge: cfg.MaxQueueAge,
		Sync: cfg.Sync, SyncInterval: cfg.SyncInterval,
		OnDrop: func(n int, reason string) { m.dropped.WithLabelValues(reason).Add(float64(n)) },
		Logger: logger,
	})
	if err != nil {
		return nil, fmt.Errorf("open the queue of remote_write %s: %w", s.name, err)
	}
	return q, nil
}

// enqueue writes the endpoint's record of a committed batch to its queue.
// A batch that cannot be queued (a full disk) is counted as dropped: the
// storage has committed it, so the commit itself stands.
func (e *endpoint) enqueue(b *Batch) {
	rec, err := e.enc.encode(b)
	queued := err == nil && rec.payload != nil
	if queued {
		err = e.q.Append(rec.payload, rec.items) // copies the payload
	}
	rec.release()
	if err != nil {
		e.m.dropped.WithLabelValues("queue_error").Add(float64(len(b.Samples)))
		if e.st.shouldLog(time.Now()) {
			e.logger.Error("Queueing committed samples for remote write failed; they will not be sent", "samples", len(b.Samples), "err", err)
		}
		return
	}
	if queued && e.st.queued(rec.maxT) {
		e.m.queueHighestTS.Set(float64(rec.maxT) / 1000)
	}
}

// endpointState is what Health reports of an endpoint.
type endpointState struct {
	mtx           sync.Mutex
	started       time.Time
	highestQueued int64 // ms; 0 until something was queued
	highestSentMs int64
	shards        int
	failing       bool
	lastErr       string
	lastErrAt     time.Time
	lastLog       time.Time
}

// queued records the newest timestamp queued; true if it moved.
func (s *endpointState) queued(t int64) bool {
	s.mtx.Lock()
	defer s.mtx.Unlock()
	if t <= s.highestQueued {
		return false
	}
	s.highestQueued = t
	return true
}

func (s *endpointState) sent(t int64) {
	s.mtx.Lock()
	defer s.mtx.Unlock()
	s.highestSentMs = max(s.highestSentMs, t)
	s.failing = false
}

func (s *endpointState) highestSent() int64 {
	s.mtx.Lock()
	defer s.mtx.Unlock()
	return s.highestSentMs
}

func (s *endpointState) failed(err error) {
	s.mtx.Lock()
	defer s.mtx.Unlock()
	s.failing = true
	s.lastErr = err.Error()
	s.lastErrAt = time.Now()
}

func (s *endpointState) setShards(n int) {
	s.mtx.Lock()
	defer s.mtx.Unlock()
	s.shards = n
}

// shouldLog rate-limits repeated error logs to one per ten seconds.
func (s *endpointState) shouldLog(now time.Time) bool {
	s.mtx.Lock()
	defer s.mtx.Unlock()
	if now.Sub(s.lastLog) < 10*time.Second {
		return false
	}
	s.lastLog = now
	return true
}

// EndpointStatus is the state of one remote_write endpoint.
type EndpointStatus struct {
	Name string
	// URL is the endpoint's URL with any password redacted.
	URL    string
	Shards int
	// PendingSamples are queued (on disk or in the shards) and not
	// acknowledged; QueueBytes is the queue's size on disk.
	PendingSamples int64
	QueueBytes     int64
	// HighestQueued and HighestSent are the newest sample timestamps
	// queued and acknowledged by the receiver (zero: none yet).
	HighestQueued, HighestSent time.Time
	// LagSeconds is how far sending is behind queueing: zero when nothing
	// is pending, else the newest queued minus the newest sent timestamp
	// (or, before anything was sent, the time since the endpoint started).
	LagSeconds float64
	// Failing says the last attempt to send failed; LastError is the last
	// error seen (it stays after recovery, with its time).
	Failing     bool
	LastError   string
	LastErrorAt time.Time
}

func (e *endpoint) status(now time.Time) EndpointStatus {
	qs := e.q.Stats()
	st := EndpointStatus{Name: e.spec.name, URL: e.spec.url, QueueBytes: qs.Bytes}
	st.PendingSamples = int64(qs.Unread)
	if e.snd != nil {
		st.PendingSamples += e.snd.inflight.Load()
	}
	s := e.st
	s.mtx.Lock()
	defer s.mtx.Unlock()
	st.Shards, st.Failing, st.LastError, st.LastErrorAt = s.shards, s.failing, s.lastErr, s.lastErrAt
	if s.highestQueued > 0 {
		st.HighestQueued = time.UnixMilli(s.highestQueued)
	}
	if s.highestSentMs > 0 {
		st.HighestSent = time.UnixMilli(s.highestSentMs)
	}
	switch {
	case st.PendingSamples == 0:
	case s.highestSentMs > 0 && s.highestQueued > s.highestSentMs:
		st.LagSeconds = float64(s.highestQueued-s.highestSentMs) / 1000
	case s.highestSentMs == 0:
		st.LagSeconds = now.Sub(s.started).Seconds() // nothing sent since this process started
	}
	return st
}
