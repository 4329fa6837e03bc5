package scrape

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/common/model"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/graftlabs/graft/pkg/storage"
)

// loop scrapes one target at its interval until stopped.
type loop struct {
	target  *Target
	cfg     *promconfig.ScrapeConfig
	fetcher *fetcher
	store   storage.Appendable
	metrics *metrics
	logger  *slog.Logger
	// startTimestamps stores the start timestamps the targets expose.
	startTimestamps bool

	// refused, when set, fails every scrape without fetching (target_limit).
	refused atomic.Pointer[error]

	cache      *seriesCache
	reportRefs []storage.SeriesRef
	reportLset []labels.Labels // target labels plus each report series' name

	// metadata is what the last successful scrape exposed, per family.
	metadata atomic.Pointer[map[string]Metadata]

	cancel context.CancelFunc
	done   chan struct{}
	// markStaleOnStop is set by stop: the series end with the target.
	stopMtx         sync.Mutex
	markStaleOnStop bool
}

func newLoop(t *Target, cfg *promconfig.ScrapeConfig, f *fetcher, store storage.Appendable, m *metrics, opts Options, cache *seriesCache) *loop {
	if cache == nil {
		cache = newSeriesCache()
	}
	return &loop{
		target: t, cfg: cfg, fetcher: f, store: store, metrics: m, cache: cache,
		startTimestamps: opts.StartTimestamps,
		logger:          opts.Logger.With("job", cfg.JobName, "target", t.url.String()),
		reportRefs:      make([]storage.SeriesRef, len(reportSeries)),
		reportLset:      reportLabelSets(t.labels),
		done:            make(chan struct{}),
	}
}

// start runs the loop in its own goroutine.
func (l *loop) start(ctx context.Context) {
	ctx, l.cancel = context.WithCancel(ctx)
	go l.run(ctx)
}

// stop ends the loop and waits for it. With markStale the loop's series get
// stale markers, so queries stop showing them at once instead of after the
// lookback delta.
func (l *loop) stop(markStale bool) {
	l.stopMtx.Lock()
	l.markStaleOnStop = markStale
	l.stopMtx.Unlock()
	l.cancel()
	<-l.done
}

func (l *loop) run(ctx context.Context) {
	defer close(l.done)
	select {
	case <-time.After(l.offset(time.Now())):
	case <-ctx.Done():
		l.finish()
		return
	}
	ticker := time.NewTicker(l.target.interval)
	defer ticker.Stop()
	for {
		l.scrapeOnce(ctx, time.Now())
		select {
		case <-ticker.C:
		case <-ctx.Done():
			l.finish()
			return
		}
	}
}

// offset spreads targets over the interval by a hash of their identity, so
// that scrapes of many targets do not all fire at the same instant while each
// target keeps a stable phase across restarts.
func (l *loop) offset(now time.Time) time.Duration {
	h := fnv.New64a()
	_, _ = h.Write([]byte(l.target.key()))
	interval := l.target.interval.Nanoseconds()
	phase := int64(h.Sum64() % uint64(interval))
	next := phase - now.UnixNano()%interval
	if next < 0 {
		next += interval
	}
	return time.Duration(next)
}

func (l *loop) finish() {
	l.stopMtx.Lock()
	mark := l.markStaleOnStop
	l.stopMtx.Unlock()
	if !mark {
		return
	}
	app := l.store.Appender(context.Background())
	sink := &sampleSink{cfg: l.cfg, target: l.target.labels, cache: l.cache, app: app, ts: timestamp(time.Now())}
	sink.cache.iter++
	if err := sink.markStale(true); err != nil {
		l.logger.Warn("Writing stale markers failed", "err", err)
		_ = app.Rollback()
		return
	}
	stale := math.Float64frombits(value.StaleNaN)
	for i, ref := range l.reportRefs {
		if ref != 0 {
			_, _ = app.Append(ref, l.reportLset[i], sink.ts, stale)
		}
	}
	if err := app.Commit(); err != nil {
		l.logger.Warn("Committing stale markers failed", "err", err)
	}
}

// scrapeOnce fetches, parses and appends one scrape, then records its report
// series. A failed scrape commits nothing of the body and marks the previous
// series stale.
func (l *loop) scrapeOnce(ctx context.Context, start time.Time) {
	body, contentType, err := l.fetch(ctx)
	if ctx.Err() != nil {
		return // stopping: a canceled scrape is not a failed target
	}

	app := l.store.Appender(ctx)
	sink := &sampleSink{cfg: l.cfg, target: l.target.labels, cache: l.cache, app: app, ts: timestamp(start), metadata: map[string]Metadata{}}
	if st, ok := app.(storage.StartTimestampAppender); ok && l.startTimestamps {
		sink.stApp = st
	}
	if err == nil {
		err = sink.appendBody(body, contentType)
	} else {
		// No body to parse: still start a new iteration, so that
		// markStale(true) below ends the series of the last scrape
		// instead of taking them for series first seen in this one.
		l.cache.iter++
	}
	if err == nil {
		err = sink.markStale(false)
	}
	if err != nil {
		// An appender is done after Rollback: start a fresh one for the
		// stale markers and the report.
		_ = app.Rollback()
		app = l.store.Appender(ctx)
		// What was parsed is still reported, as Prometheus does: it tells
		// by how much a limit was exceeded.
		sink.app = app
		sink.stats = appendStats{scraped: sink.stats.scraped, postRelabel: sink.stats.postRelabel}
		if serr := sink.markStale(true); serr != nil {
			l.logger.Warn("Writing stale markers failed", "err", serr)
		}
	}
	dur := time.Since(start)
	l.appendReport(app, sink.stats, start, dur, err)
	if cerr := app.Commit(); cerr != nil && err == nil {
		err = fmt.Errorf("commit: %w", cerr)
	}

	if err == nil {
		l.metadata.Store(&sink.metadata)
	}
	l.target.report(start, dur, err)
	l.metrics.observe(l.cfg.JobName, sink.stats, dur, err)
	if err != nil {
		l.logger.Debug("Scrape failed", "err", err)
	}
}

// setRefused makes every scrape fail with err without fetching; nil lifts it.
func (l *loop) setRefused(err error) {
	if err == nil {
		l.refused.Store(nil)
		return
	}
	l.refused.Store(&err)
}

func (l *loop) fetch(ctx context.Context) ([]byte, string, error) {
	if err := l.refused.Load(); err != nil {
		return nil, "", *err
	}
	sctx, cancel := context.WithTimeout(ctx, l.target.timeout)
	defer cancel()
	body, contentType, err := l.fetcher.fetch(sctx, l.target)
	return body, contentType, timeoutErr(err, l.target.timeout)
}

// appendReport writes up, scrape_duration_seconds and friends with the
// target's labels.
func (l *loop) appendReport(app storage.Appender, st appendStats, start time.Time, dur time.Duration, scrapeErr error) {
	vals := reportValues(st, dur, scrapeErr)
	ts := timestamp(start)
	for i := range reportSeries {
		ref, err := app.Append(l.reportRefs[i], l.reportLset[i], ts, vals[i])
		if err != nil {
			l.logger.Debug("Appending report sample failed", "series", reportSeries[i], "err", err)
			continue
		}
		l.reportRefs[i] = ref
	}
}

func reportLabelSets(target labels.Labels) []labels.Labels {
	out := make([]labels.Labels, len(reportSeries))
	for i, name := range reportSeries {
		out[i] = labels.NewBuilder(target).Set(model.MetricNameLabel, name).Labels()
	}
	return out
}

func timestamp(t time.Time) int64 { return t.UnixMilli() }
