package remote

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Options configure a Writer.
type Options struct {
	// Dir holds one queue directory per endpoint.
	Dir string
	// UserAgent is sent with every request (Graft/<version>).
	UserAgent  string
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Writer is the sending side of remote write: the Forwarder behind the
// storage's Tee, with one endpoint per remote_write entry.
type Writer struct {
	opts    Options
	logger  *slog.Logger
	m       *metrics
	highest atomic.Int64 // ms
	enabled atomic.Bool

	applyMtx sync.Mutex // one ApplyConfig at a time
	mtx      sync.RWMutex
	eps      []*endpoint
	applied  bool // the first configuration is in: leftover queues were removed
	closed   bool
	// reshardEvery is the senders' resharding period (tests shorten it).
	reshardEvery time.Duration
}

// NewWriter returns a Writer with no endpoints: Enabled is false until a
// configuration with remote_write entries is applied.
func NewWriter(opts Options) *Writer {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "Graft"
	}
	w := &Writer{opts: opts, logger: opts.Logger, m: newMetrics(opts.Registerer), reshardEvery: defaultReshardInterval}
	w.highest.Store(-1 << 63)
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(newQueueCollector(w))
	}
	return w
}

// Enabled implements Forwarder: whether any endpoint is configured.
func (w *Writer) Enabled() bool { return w.enabled.Load() }

// Forward implements Forwarder: it writes the batch to every endpoint's
// queue before returning, so that a committed sample survives a crash
// right after the commit.
func (w *Writer) Forward(b *Batch) {
	var maxT int64 = -1 << 63
	for i := range b.Samples {
		maxT = max(maxT, b.Samples[i].T)
	}
	if len(b.Samples) > 0 && w.raiseHighest(maxT) {
		w.m.highestTS.Set(float64(maxT) / 1000)
	}
	w.mtx.RLock()
	defer w.mtx.RUnlock()
	if w.closed {
		return
	}
	for _, ep := range w.eps {
		ep.enqueue(b)
	}
}

func (w *Writer) raiseHighest(t int64) bool {
	for {
		cur := w.highest.Load()
		if t <= cur {
			return false
		}
		if w.highest.CompareAndSwap(cur, t) {
			return true
		}
	}
}

// ApplyConfig makes the endpoints those of cfg. It is all or nothing: a
// configuration it refuses (an unsupported option, a TLS file that does not
// load, a queue that does not open) leaves the running endpoints as they
// were. Endpoints whose settings did not change keep running untouched;
// changed ones get a new sender that resumes from their queue's
// acknowledged position; removed ones stop and their queue is deleted.
func (w *Writer) ApplyConfig(cfg Config) error {
	w.applyMtx.Lock()
	defer w.applyMtx.Unlock()
	specs, clients, err := w.prepare(cfg)
	if err != nil {
		return err
	}
	w.mtx.RLock()
	current := map[string]*endpoint{}
	for _, ep := range w.eps {
		current[ep.spec.id] = ep
	}
	closed := w.closed
	w.mtx.RUnlock()
	if closed {
		return errors.New("remote write is stopped")
	}
	// Open the new queues first, so that a failure changes nothing.
	opened := map[string]*endpoint{}
	for i, s := range specs {
		if _, ok := current[s.id]; ok {
			continue
		}
		ep, err := w.newEndpoint(s, clients[i], cfg)
		if err != nil {
			for _, o := range opened {
				_ = o.q.Close() // never started: nothing to lose
			}
			return err
		}
		opened[s.id] = ep
	}

	var next []*endpoint
	var restarted []*endpoint
	var oldSenders []*sender
	w.mtx.Lock()
	for i, s := range specs {
		ep, ok := current[s.id]
		if !ok {
			next = append(next, opened[s.id])
			continue
		}
		delete(current, s.id)
		ep.q.SetLimits(cfg.MaxQueueBytes, cfg.MaxQueueAge)
		if !ep.spec.equal(s) {
			ep.spec, ep.enc = s, newEncoder(s)
			oldSenders = append(oldSenders, ep.snd)
			ep.snd = w.newSender(ep, clients[i])
			restarted = append(restarted, ep)
		}
		next = append(next, ep)
	}
	w.eps = next
	w.enabled.Store(len(next) > 0)
	w.mtx.Unlock()

	// Outside the lock, so that commits go on while senders stop.
	for _, snd := range oldSenders {
		snd.stop()
	}
	for _, ep := range restarted {
		if err := ep.q.Rewind(); err != nil {
			ep.logger.Error("Rewinding the remote-write queue failed", "err", err)
		}
		ep.logger.Info("Remote write endpoint reconfigured")
		ep.snd.start()
	}
	for _, ep := range opened {
		ep.logger.Info("Remote write endpoint started")
		ep.snd.start()
	}
	var errs []error
	for _, ep := range current {
		errs = append(errs, w.remove(ep))
	}
	if !w.applied {
		w.applied = true
		errs = append(errs, w.removeLeftovers(next))
	}
	return errors.Join(errs...)
}

// prepare checks every entry and builds its HTTP client.
func (w *Writer) prepare(cfg Config) ([]spec, []*client, error) {
	var specs []spec
	var clients []*client
	seen := map[string]int{}
	for i, rw := range cfg.Endpoints {
		s, err := newSpec(rw, cfg.ExternalLabels)
		if err != nil {
			return nil, nil, fmt.Errorf("remote_write[%d] (%s): %w", i, rw.URL.Redacted(), err)
		}
		if j, ok := seen[s.id]; ok {
			return nil, nil, fmt.Errorf("remote_write[%d] has the url and name of remote_write[%d]: give them distinct names", i, j)
		}
		seen[s.id] = i
		cl, err := newClient(s, w.opts.UserAgent)
		if err != nil {
			return nil, nil, fmt.Errorf("remote_write[%d] (%s): %w", i, s.url, err)
		}
		specs = append(specs, s)
		clients = append(clients, cl)
	}
	return specs, clients, nil
}

func (w *Writer) newEndpoint(s spec, cl *client, cfg Config) (*endpoint, error) {
	logger := w.logger.With("remote_name", s.name, "url", s.url)
	m := w.m.endpoint(s.name, s.url)
	q, err := openQueue(w.opts.Dir, s, cfg, m, logger)
	if err != nil {
		return nil, err
	}
	ep := &endpoint{spec: s, enc: newEncoder(s), q: q, m: m, st: &endpointState{started: time.Now()}, logger: logger}
	ep.snd = w.newSender(ep, cl)
	return ep, nil
}

func (w *Writer) newSender(ep *endpoint, cl *client) *sender {
	snd := newSender(ep.q, cl, ep.spec.cfg.QueueConfig, ep.m, ep.st, ep.logger)
	snd.reshardEvery = w.reshardEvery
	return snd
}

// remove stops an endpoint that left the configuration and deletes its
// queue: nothing will send it any more.
func (w *Writer) remove(ep *endpoint) error {
	ep.snd.stop()
	err := ep.q.Close()
	st := ep.q.Stats()
	if rerr := os.RemoveAll(filepath.Join(w.opts.Dir, ep.spec.id)); rerr != nil {
		err = errors.Join(err, fmt.Errorf("remove the queue of remote_write %s: %w", ep.spec.name, rerr))
	}
	w.m.forget(ep.spec.name, ep.spec.url)
	ep.logger.Info("Remote write endpoint removed; its queue is deleted", "unsent_samples", st.Unread, "bytes", st.Bytes)
	return err
}

// removeLeftovers deletes the queues of endpoints that were configured
// when Graft last ran and are not any more.
func (w *Writer) removeLeftovers(keep []*endpoint) error {
	entries, err := os.ReadDir(w.opts.Dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("list remote-write queues: %w", err)
	}
	kept := map[string]bool{}
	for _, ep := range keep {
		kept[ep.spec.id] = true
	}
	var errs []error
	for _, e := range entries {
		if !e.IsDir() || kept[e.Name()] {
			continue
		}
		w.logger.Warn("Deleting the queue of a remote_write endpoint that is no longer configured", "queue", e.Name())
		if err := os.RemoveAll(filepath.Join(w.opts.Dir, e.Name())); err != nil {
			errs = append(errs, fmt.Errorf("remove leftover remote-write queue: %w", err))
		}
	}
	return errors.Join(errs...)
}

// Status reports every endpoint, in configuration order.
func (w *Writer) Status() []EndpointStatus {
	w.mtx.RLock()
	defer w.mtx.RUnlock()
	now := time.Now()
	out := make([]EndpointStatus, 0, len(w.eps))
	for _, ep := range w.eps {
		out = append(out, ep.status(now))
	}
	return out
}

// Close stops every sender (letting requests in flight finish briefly)
// and closes the queues; what is not acknowledged is sent after the next
// start.
func (w *Writer) Close() error {
	w.applyMtx.Lock()
	defer w.applyMtx.Unlock()
	w.mtx.Lock()
	eps := w.eps
	w.closed, w.eps = true, nil
	w.enabled.Store(false)
	w.mtx.Unlock()
	var wg sync.WaitGroup
	for _, ep := range eps {
		wg.Go(ep.snd.stop)
	}
	wg.Wait()
	var errs []error
	for _, ep := range eps {
		errs = append(errs, ep.q.Close())
	}
	return errors.Join(errs...)
}
