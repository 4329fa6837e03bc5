// Package querycache is an exact results cache for PromQL range queries, in
// the manner of the Cortex, Mimir and Thanos query-frontend results caches
// but in-process.
//
// A range query is cut into UTC days of its step grid; each day's result
// is kept as extents (runs of step points). A later query with the same
// expression, step, grid phase and options takes what the extents cover
// and evaluates only the missing pieces, then merges series by labels.
//
// Exactness does not rest on a time-to-live: every evaluation records what
// it read (the querier's time range and every select's matchers), and the
// storage's change feed says which series and time ranges changed since a
// generation. An extent whose reads a change meets is dropped; when the
// feed lost history everything is. Step points newer than the freshness
// window are not kept at all: they would be invalidated at once.
package querycache

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/timestamp"
	"github.com/prometheus/prometheus/util/annotations"

	"github.com/graftlabs/graft/pkg/promql"
	"github.com/graftlabs/graft/pkg/storage"
)

// Config is what can change while the cache runs.
type Config struct {
	Enabled bool
	// MaxBytes bounds the memory held (approximately); least recently used
	// entries go first.
	MaxBytes int64
	// Freshness: step points newer than now - Freshness are not cached.
	Freshness time.Duration
}

// Options build a Cache.
type Options struct {
	Engine  *promql.Engine
	Storage storage.Queryable
	// Feed says what changed in Storage; without it nothing is cached.
	Feed   storage.ChangeFeed
	Config Config
	// Registerer receives the cache's metrics (nil: not registered).
	Registerer prometheus.Registerer
	// Now is the clock for the freshness window (nil: time.Now).
	Now func() time.Time
}

// Cache answers range queries from cached extents where it can. It is safe
// for concurrent use.
type Cache struct {
	engine  *promql.Engine
	storage storage.Queryable
	feed    storage.ChangeFeed
	now     func() time.Time
	an      *analyzer
	m       *metrics

	mtx sync.Mutex
	cfg Config
	gen uint64 // the feed's generation the extents are valid at
	st  *store
	// annotated are query grids recently found to carry annotations, with
	// when to try caching them again.
	annotated map[queryKey]time.Time
}

// New returns a cache over opts.Storage.
func New(opts Options) *Cache {
	c := &Cache{
		engine: opts.Engine, storage: opts.Storage, feed: opts.Feed, now: opts.Now,
		an: newAnalyzer(), m: newMetrics(opts.Registerer),
		cfg: opts.Config, st: newStore(opts.Config.MaxBytes), annotated: map[queryKey]time.Time{},
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.feed != nil {
		c.gen = c.generation()
	}
	return c
}

// ApplyConfig changes the settings; turning the cache off frees its memory.
func (c *Cache) ApplyConfig(cfg Config) {
	c.mtx.Lock()
	defer c.mtx.Unlock()
	c.cfg = cfg
	if !cfg.Enabled {
		c.m.invalidations.WithLabelValues(invalidDisabled).Add(float64(c.st.dropAll()))
	}
	c.st.maxBytes = cfg.MaxBytes
	c.m.evictions.Add(float64(c.st.evict()))
	c.m.stored(c.st)
}

// Range evaluates expr at every step from start to end, as the engine's
// Range does with opts, taking what it can from the cache. The result's
// histograms may be shared with the cache: they must not be modified.
func (c *Cache) Range(ctx context.Context, expr string, start, end time.Time, step time.Duration, opts promql.QueryOpts) (*promql.Result, error) {
	if err := promql.ValidateRange(start, end, step); err != nil {
		return nil, err
	}
	q, ok := c.plan(expr, start, end, step, opts)
	if !ok {
		return c.direct(ctx, expr, start, end, step, opts)
	}
	return c.run(ctx, q)
}

// rangeQuery is a query the cache takes, in ms on its step grid.
type rangeQuery struct {
	expr string
	key  queryKey
	// start and end are the first and last step points; settled is the
	// last one at or before cutoff, the end of the freshness window.
	start, end, step, settled, cutoff int64
}

func (q *rangeQuery) stepDuration() time.Duration { return time.Duration(q.step) * time.Millisecond }

// plan decides whether the cache takes the query, and how.
func (c *Cache) plan(expr string, start, end time.Time, step time.Duration, opts promql.QueryOpts) (*rangeQuery, bool) {
	cfg := c.config()
	if !cfg.Enabled || c.feed == nil || step < time.Millisecond {
		return nil, false
	}
	now := c.now()
	q := &rangeQuery{expr: expr, start: timestamp.FromTime(start), step: step.Milliseconds()}
	q.end, _ = lastPoint(q.start, q.step, timestamp.FromTime(end))
	q.cutoff = timestamp.FromTime(now.Add(-cfg.Freshness))
	settled, ok := lastPoint(q.start, q.step, min(q.end, q.cutoff))
	if !ok {
		c.m.bypasses.WithLabelValues(bypassFresh).Inc()
		return nil, false
	}
	q.settled = settled
	if !c.an.splittable(expr) {
		c.m.bypasses.WithLabelValues(bypassExpression).Inc()
		return nil, false
	}
	q.key = newQueryKey(expr, q.start, q.step, opts)
	if c.isAnnotated(q.key, now) {
		c.m.bypasses.WithLabelValues(bypassAnnotations).Inc()
		return nil, false
	}
	return q, true
}

func (c *Cache) config() Config {
	c.mtx.Lock()
	defer c.mtx.Unlock()
	return c.cfg
}

// direct is the engine's answer, without the cache.
func (c *Cache) direct(ctx context.Context, expr string, start, end time.Time, step time.Duration, opts promql.QueryOpts) (*promql.Result, error) {
	return c.engine.RangeWithOpts(ctx, c.storage, expr, start, end, step, opts)
}

// run answers q from the cache and evaluations of what it lacks: the
// missing pieces of settled days one by one (so that each records its own
// reads), the fresh tail in one go.
func (c *Cache) run(ctx context.Context, q *rangeQuery) (*promql.Result, error) {
	parts := c.lookup(q)
	stats, annotated, err := c.evalMissing(ctx, q, parts)
	if err != nil {
		return nil, err
	}
	if annotated {
		return c.annotatedAnswer(ctx, q)
	}
	out := newAssembled()
	for _, p := range parts {
		out.add(p.x.m, p.from, p.to)
	}
	var annos annotations.Annotations
	if q.settled < q.end {
		tail, err := c.direct(ctx, q.expr, timestamp.Time(q.settled+q.step), timestamp.Time(q.end), q.stepDuration(), q.key.opts)
		if err != nil {
			return nil, err
		}
		addStats(&stats, tail.Stats)
		annos = tail.Annotations
		// Not closed: its points go into the answer.
		m, _ := tail.Value.(promql.Matrix)
		out.add(m, q.settled+q.step, q.end)
	}
	return &promql.Result{Value: out.matrix(), Annotations: annos, Stats: stats}, nil
}

// evalMissing evaluates the parts no extent covered and keeps what may be
// kept. It stops at the first part with annotations: see annotatedAnswer.
func (c *Cache) evalMissing(ctx context.Context, q *rangeQuery, parts []part) (promql.Stats, bool, error) {
	var stats promql.Stats
	var gen uint64
	evaluated := false
	for i := range parts {
		if parts[i].x != nil {
			continue
		}
		if !evaluated {
			// Read before any evaluation opens a querier: a change the
			// evaluations did not see is newer than this.
			gen, evaluated = c.generation(), true
		}
		x, res, err := c.evalPart(ctx, q, parts[i].span)
		if err != nil {
			return stats, false, err
		}
		addStats(&stats, res.Stats)
		if len(res.Annotations) > 0 {
			return stats, true, nil
		}
		parts[i].x, parts[i].fresh = x, true
	}
	if evaluated {
		c.keep(q, parts, gen)
	}
	return stats, false, nil
}

// annotatedAnswer evaluates the whole query at once: annotations are not
// per step, so the engine's own are the only exact ones. The grid is not
// tried again for a while.
func (c *Cache) annotatedAnswer(ctx context.Context, q *rangeQuery) (*promql.Result, error) {
	c.mtx.Lock()
	if len(c.annotated) >= maxMemo {
		clear(c.annotated)
	}
	c.annotated[q.key] = c.now().Add(annotatedRetry)
	c.mtx.Unlock()
	c.m.bypasses.WithLabelValues(bypassAnnotations).Inc()
	return c.direct(ctx, q.expr, timestamp.Time(q.start), timestamp.Time(q.end), q.stepDuration(), q.key.opts)
}

// annotatedRetry is how long a grid found to carry annotations bypasses
// the cache.
const annotatedRetry = 10 * time.Minute

func (c *Cache) isAnnotated(k queryKey, now time.Time) bool {
	c.mtx.Lock()
	defer c.mtx.Unlock()
	until, ok := c.annotated[k]
	if ok && !now.Before(until) {
		delete(c.annotated, k)
		return false
	}
	return ok
}

// evalPart evaluates the step points of sp, recording what it reads.
func (c *Cache) evalPart(ctx context.Context, q *rangeQuery, sp span) (*extent, *promql.Result, error) {
	rec := &recorder{store: c.storage}
	qry, err := c.engine.NewRangeQuery(rec, q.expr, timestamp.Time(sp.from), timestamp.Time(sp.to), q.stepDuration(), q.key.opts)
	if err != nil {
		return nil, nil, err
	}
	res, err := qry.Exec(ctx)
	if err != nil {
		return nil, nil, err
	}
	m, _ := res.Value.(promql.Matrix)
	x := newExtent(sp, ownMatrix(m), rec.read())
	res.Close()
	return x, res, nil
}

// lookup syncs the cache with the change feed and cuts the settled step
// points into cached and missing parts.
func (c *Cache) lookup(q *rangeQuery) []part {
	spans := daySpans(q.start, q.settled, q.step)
	c.mtx.Lock()
	defer c.mtx.Unlock()
	c.syncLocked()
	var parts []part
	for _, sp := range spans {
		k := entryKey{query: q.key, day: floorDiv(sp.from, dayMs)}
		ps := c.st.lookup(k, sp, q.step)
		c.m.requests.Inc()
		if len(ps) == 1 && ps[0].x != nil {
			c.m.hits.Inc()
		} else {
			c.m.misses.Inc()
		}
		parts = append(parts, ps...)
	}
	return parts
}

// keep stores the parts evaluated since generation gen that no change
// since gen can have touched and whose reads are all settled.
func (c *Cache) keep(q *rangeQuery, parts []part, gen uint64) {
	c.mtx.Lock()
	defer c.mtx.Unlock()
	ch := c.feed.ChangesSince(min(c.gen, gen))
	c.applyLocked(ch)
	if !ch.Complete || !c.cfg.Enabled {
		return
	}
	missed := summarize(newerThan(ch.Changes, gen))
	for _, p := range parts {
		x := p.x
		if !p.fresh || (x.deps.read && x.deps.maxt > q.cutoff) || x.deps.affectedBy(missed) {
			continue
		}
		c.m.evictions.Add(float64(c.st.insert(p.key, x, q.step)))
	}
	c.m.stored(c.st)
}

// syncLocked drops what changed since the cache's generation.
func (c *Cache) syncLocked() { c.applyLocked(c.feed.ChangesSince(c.gen)) }

// applyLocked drops the extents ch makes stale (all of them when history
// was lost) and moves the cache to ch's generation. ch may start earlier
// than the cache's generation.
func (c *Cache) applyLocked(ch storage.Changes) {
	switch {
	case !ch.Complete || ch.Generation < c.gen:
		c.m.invalidations.WithLabelValues(invalidLost).Add(float64(c.st.dropAll()))
	default:
		if sum := summarize(newerThan(ch.Changes, c.gen)); !sum.empty() {
			c.m.invalidations.WithLabelValues(invalidChanged).Add(float64(c.st.invalidate(sum)))
		}
	}
	c.gen = ch.Generation
	c.m.stored(c.st)
}

func (c *Cache) generation() uint64 { return c.feed.ChangesSince(math.MaxUint64).Generation }

func newerThan(cs []storage.Change, gen uint64) []storage.Change {
	var out []storage.Change
	for _, ch := range cs {
		if ch.Generation > gen {
			out = append(out, ch)
		}
	}
	return out
}

func addStats(s *promql.Stats, o promql.Stats) {
	s.TotalSamples += o.TotalSamples
	s.PeakSamples = max(s.PeakSamples, o.PeakSamples)
	s.PrepareTime += o.PrepareTime
	s.EvalTime += o.EvalTime
	s.QueueTime += o.QueueTime
}
