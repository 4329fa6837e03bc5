// Package promql is Graft's PromQL engine.
//
// A query goes through three stages:
//
//   - parse, with Prometheus's parser (every experimental feature on);
//   - plan (plan.go): fold query-level constants, evaluate duration
//     expressions, mark step-invariant subtrees, push matchers across set
//     operators, and register every selector so that identical ones share one
//     storage Select;
//   - evaluate (eval.go): every node is evaluated once over the whole step
//     grid. Operators work series by series wherever the semantics allow it
//     (selectors, range functions over sliding windows, per-series functions,
//     vector/scalar arithmetic) and step by step only where a step needs a
//     view across series (binary matching, topk, histogram_quantile, ...).
//
// An instant query is a range query with one step.
package promql

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/timestamp"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/util/annotations"

	"github.com/graftlabs/graft/pkg/storage"
)

// Defaults applied by NewEngine to zero options.
const (
	defaultLookbackDelta = 5 * time.Minute
	defaultTimeout       = 2 * time.Minute
	defaultMaxSamples    = 50_000_000
	defaultMaxConcurrent = 20

	// maxPointsPerSeries mirrors the Prometheus HTTP API's resolution limit.
	maxPointsPerSeries = 11000
)

// EngineOpts configures an Engine.
type EngineOpts struct {
	LookbackDelta time.Duration // 0 means 5m
	Timeout       time.Duration // 0 means 2m; applied with context.WithTimeout
	// MaxSamples bounds the samples held in memory by one query (loaded and
	// produced); 0 means 50_000_000.
	MaxSamples int
	// MaxConcurrent bounds the queries evaluated at once; further queries
	// wait for a slot (or their context). 0 means 20.
	MaxConcurrent int
	// Parallelism is how many goroutines one query may use for per-series
	// work; 0 means GOMAXPROCS.
	Parallelism int
	// EnableDelayedNameRemoval keeps the metric name on series until the end
	// of evaluation (Prometheus's promql-delayed-name-removal feature).
	EnableDelayedNameRemoval bool
	// EnableStartTimestamps lets rate, irate, increase and resets use the
	// start timestamps a storage keeps (Prometheus's use-start-timestamps).
	EnableStartTimestamps bool
	// NoStepSubqueryInterval returns the step of a subquery written without
	// one, from its range in ms; nil means one minute.
	NoStepSubqueryInterval func(rangeMillis int64) int64
	// ParserOptions, when set, replaces the default parser options (every
	// experimental language feature enabled).
	ParserOptions *parser.Options
	// PointPoolBytes bounds the memory kept between queries for the points
	// of later ones (let go after a minute or two unused); 0 means 64 MiB,
	// negative keeps none.
	PointPoolBytes int64
	// Registerer receives the engine's metrics; nil registers none.
	Registerer prometheus.Registerer
}

// Engine evaluates PromQL queries against a storage.Queryable. It is safe for
// concurrent use.
type Engine struct {
	lookback    time.Duration
	timeout     time.Duration
	maxSamples  int
	parallelism int
	delayedName bool
	useST       bool
	noStepSubq  func(int64) int64
	parser      parser.Parser
	slots       chan struct{} // one token per running query
	slabs       *slabPool     // point memory kept between queries
	metrics     *metrics
	regexes     regexCache // label_replace's compiled expressions
}

// AllFeatures are the parser options Graft uses by default: the whole
// language of the Prometheus version it builds against, experimental parts
// included.
var AllFeatures = parser.Options{
	EnableExperimentalFunctions:  true,
	ExperimentalDurationExpr:     true,
	EnableExtendedRangeSelectors: true,
	EnableBinopFillModifiers:     true,
}

// NewEngine returns an Engine with defaults filled in.
func NewEngine(opts EngineOpts) *Engine {
	if opts.LookbackDelta <= 0 {
		opts.LookbackDelta = defaultLookbackDelta
	}
	if opts.Timeout <= 0 {
		opts.Timeout = defaultTimeout
	}
	if opts.MaxSamples <= 0 {
		opts.MaxSamples = defaultMaxSamples
	}
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = defaultMaxConcurrent
	}
	if opts.Parallelism <= 0 {
		opts.Parallelism = runtime.GOMAXPROCS(0)
	}
	if opts.NoStepSubqueryInterval == nil {
		opts.NoStepSubqueryInterval = func(int64) int64 { return time.Minute.Milliseconds() }
	}
	popts := AllFeatures
	if opts.ParserOptions != nil {
		popts = *opts.ParserOptions
	}
	slabs := newSlabPool(opts.PointPoolBytes, slabTrimInterval)
	return &Engine{
		lookback:    opts.LookbackDelta,
		timeout:     opts.Timeout,
		maxSamples:  opts.MaxSamples,
		parallelism: opts.Parallelism,
		delayedName: opts.EnableDelayedNameRemoval,
		useST:       opts.EnableStartTimestamps,
		noStepSubq:  opts.NoStepSubqueryInterval,
		parser:      parser.NewParser(popts),
		slots:       make(chan struct{}, opts.MaxConcurrent),
		slabs:       slabs,
		metrics:     newMetrics(opts.Registerer, opts.MaxConcurrent, slabs),
	}
}

// QueryOpts are per-query settings.
type QueryOpts struct {
	// LookbackDelta overrides the engine's lookback delta when positive.
	LookbackDelta time.Duration
	// MaxResolution is the coarsest resolution of downsampled data the
	// query may read (Thanos's max_source_resolution); 0 reads raw
	// samples only. Each selector reads downsampled data only where its
	// function gives a close answer from it (downsample.go).
	MaxResolution time.Duration
}

// Result is the outcome of a successful query.
type Result struct {
	Value Value
	// Annotations are the query's warnings and infos; Warnings renders
	// them.
	Annotations annotations.Annotations
	Stats       Stats

	arena *pointArena // memory behind a Matrix value: nil or &space
	space pointArena
}

// Close hands the memory behind the result's points back for reuse by
// later queries. The result must not be used afterwards. Not calling it is
// safe; the memory is then left to the garbage collector.
func (r *Result) Close() {
	if r.arena != nil {
		r.arena.release()
		r.arena = nil
	}
	r.Value = nil
}

// Warnings and infos of the result, rendered with positions in query.
func (r *Result) Warnings(query string) (warnings, infos []string) {
	return r.Annotations.AsStrings(query, 0, 0)
}

// Stats describes the work a query did.
type Stats struct {
	// TotalSamples is how many samples the query read from storage.
	TotalSamples int64
	// PeakSamples is the largest number of samples held at once.
	PeakSamples int
	// Timings, in seconds.
	PrepareTime, EvalTime, QueueTime float64
}

// ErrorType classifies query errors the way the Prometheus HTTP API does.
type ErrorType string

// The error types a query can fail with.
const (
	ErrBadData   ErrorType = "bad_data"
	ErrExecution ErrorType = "execution"
	ErrTimeout   ErrorType = "timeout"
	ErrCanceled  ErrorType = "canceled"
)

// Error is the only error type the engine's query methods return.
type Error struct {
	Type ErrorType
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

func badData(format string, args ...any) *Error {
	return &Error{Type: ErrBadData, Err: fmt.Errorf(format, args...)}
}

// errTooManySamples is Prometheus's message for the MaxSamples limit.
var errTooManySamples = errors.New("query processing would load too many samples into memory in query execution")

// ctxError reports a finished context with Prometheus's wording while still
// matching errors.Is(err, context.DeadlineExceeded / context.Canceled).
type ctxError struct {
	msg   string
	cause error
}

func (e *ctxError) Error() string { return e.msg }
func (e *ctxError) Unwrap() error { return e.cause }

// contextError turns ctx.Err() into a typed *Error; env says where it hit.
func contextError(err error, env string) *Error {
	if errors.Is(err, context.DeadlineExceeded) {
		return &Error{Type: ErrTimeout, Err: &ctxError{msg: "query timed out in " + env, cause: err}}
	}
	return &Error{Type: ErrCanceled, Err: &ctxError{msg: "query was canceled in " + env, cause: err}}
}

// Query is a parsed and planned query, ready to run once.
type Query struct {
	engine    *Engine
	queryable storage.Queryable
	query     string
	plan      plan          // in the same allocation; never copied
	prepared  time.Duration // parsing and planning
}

// String returns the query text.
func (q *Query) String() string { return q.query }

// Instant evaluates query at ts. The result is a Vector, Scalar or String, or
// a Matrix when the expression is a range vector such as foo[5m].
func (e *Engine) Instant(ctx context.Context, q storage.Queryable, query string, ts time.Time) (*Result, error) {
	qry, err := e.NewInstantQuery(q, query, ts, QueryOpts{})
	if err != nil {
		return nil, err
	}
	return qry.Exec(ctx)
}

// Range evaluates query at every step from start to end inclusive and returns
// a Matrix. It applies the HTTP API's checks on the grid (at most 11,000
// points per series).
func (e *Engine) Range(ctx context.Context, q storage.Queryable, query string, start, end time.Time, step time.Duration) (*Result, error) {
	return e.RangeWithOpts(ctx, q, query, start, end, step, QueryOpts{})
}

// RangeWithOpts is Range with per-query options.
func (e *Engine) RangeWithOpts(ctx context.Context, q storage.Queryable, query string, start, end time.Time, step time.Duration, opts QueryOpts) (*Result, error) {
	if err := ValidateRange(start, end, step); err != nil {
		return nil, err
	}
	qry, err := e.NewRangeQuery(q, query, start, end, step, opts)
	if err != nil {
		return nil, err
	}
	return qry.Exec(ctx)
}

// ValidateRange applies the checks (and messages) of Prometheus's
// /api/v1/query_range handler, among which its 11,000 points limit.
func ValidateRange(start, end time.Time, step time.Duration) error {
	switch {
	case end.Before(start):
		return badData("end timestamp must not be before start time")
	case step <= 0:
		return badData("zero or negative query resolution step widths are not accepted. Try a positive integer")
	case end.Sub(start)/step > maxPointsPerSeries:
		return badData("exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)")
	}
	return nil
}

// NewInstantQuery parses and plans query for evaluation at ts. Errors are
// bad_data and name the position in the query.
func (e *Engine) NewInstantQuery(q storage.Queryable, query string, ts time.Time, opts QueryOpts) (*Query, error) {
	t := timestamp.FromTime(ts)
	return e.newQuery(q, query, queryRange{start: t, end: t, interval: 0}, opts)
}

// NewRangeQuery parses and plans query for evaluation over [start, end] in
// steps of step.
func (e *Engine) NewRangeQuery(q storage.Queryable, query string, start, end time.Time, step time.Duration, opts QueryOpts) (*Query, error) {
	if step <= 0 {
		return nil, badData("zero or negative query resolution step widths are not accepted. Try a positive integer")
	}
	if end.Before(start) {
		return nil, badData("end timestamp must not be before start time")
	}
	if step < time.Millisecond {
		return nil, badData("query resolution step must be at least 1ms")
	}
	return e.newQuery(q, query, queryRange{
		start:    timestamp.FromTime(start),
		end:      timestamp.FromTime(end),
		interval: step.Milliseconds(),
	}, opts)
}

// queryRange is the evaluation grid of a query in ms; interval is 0 for an
// instant query.
type queryRange struct {
	start, end, interval int64
}

func (e *Engine) newQuery(q storage.Queryable, query string, qr queryRange, opts QueryOpts) (*Query, error) {
	began := time.Now()
	expr, err := e.parser.ParseExpr(query)
	if err != nil {
		return nil, &Error{Type: ErrBadData, Err: err}
	}
	if qr.interval != 0 {
		if t := expr.Type(); t != parser.ValueTypeVector && t != parser.ValueTypeScalar {
			return nil, badData("invalid expression type %q for range query, must be Scalar or instant Vector", parser.DocumentedType(t))
		}
	}
	lookback := e.lookback
	if opts.LookbackDelta > 0 {
		lookback = opts.LookbackDelta
	}
	qry := &Query{engine: e, queryable: q, query: query}
	if err := qry.plan.init(expr, qr, planOpts{lookback: lookback, maxRes: max(opts.MaxResolution.Milliseconds(), 0), noStepSubq: e.noStepSubq}); err != nil {
		return nil, &Error{Type: ErrBadData, Err: err}
	}
	qry.prepared = time.Since(began)
	return qry, nil
}

// Exec runs the query. It waits for a free slot when MaxConcurrent queries
// are running; the wait counts against the query's timeout.
func (q *Query) Exec(ctx context.Context) (res *Result, err error) {
	e := q.engine
	e.metrics.running.Inc()
	// Reading the clock is not free (a system call on some virtual
	// machines): a query reads the time once on entry, and only the
	// monotonic clock (time.Since) after queueing if it had to wait and
	// at the end.
	queued := time.Now()
	var took time.Duration
	defer func() {
		e.metrics.running.Dec()
		if took == 0 {
			took = time.Since(queued)
		}
		e.metrics.observe(q.plan.interval == 0, took, res, err)
	}()
	res, took, err = q.exec(ctx, queued)
	return res, err
}

// exec runs the query and returns how long it took since queued.
func (q *Query) exec(ctx context.Context, queued time.Time) (*Result, time.Duration, error) {
	e := q.engine
	st := &queryState{}
	ctx = st.deadline.wrap(ctx, queued.Add(e.timeout))
	defer st.deadline.release()
	if err := ctx.Err(); err != nil {
		return nil, 0, contextError(err, "query execution")
	}

	waited, err := e.acquireSlot(ctx)
	if err != nil {
		return nil, 0, err
	}
	defer func() { <-e.slots }()
	var queueTime time.Duration
	if waited {
		queueTime = time.Since(queued)
	}

	res, err := q.run(ctx, st)
	if err != nil {
		return nil, 0, e.classify(ctx, err)
	}
	took := time.Since(queued)
	res.Stats.QueueTime = queueTime.Seconds()
	res.Stats.EvalTime = (took - queueTime).Seconds()
	res.Stats.PrepareTime = q.prepared.Seconds()
	return res, took, nil
}

// acquireSlot waits for one of the MaxConcurrent slots and says whether it
// had to. A free slot is taken without waiting on ctx.Done, which would arm
// the query's timer.
func (e *Engine) acquireSlot(ctx context.Context) (waited bool, err error) {
	select {
	case e.slots <- struct{}{}:
		return false, nil
	default:
	}
	select {
	case e.slots <- struct{}{}:
		return true, nil
	case <-ctx.Done():
		return true, contextError(ctx.Err(), "query queue")
	}
}

func (q *Query) run(ctx context.Context, st *queryState) (*Result, error) {
	e := q.engine
	p := &q.plan
	// The result is allocated up front: it holds the arena the evaluation
	// allocates points from.
	res := &Result{space: pointArena{pool: e.slabs, flast: -1, hlast: -1}}
	ev := st.newEvaluator(ctx, p, evalOptions{
		maxSamples:  e.maxSamples,
		parallelism: e.parallelism,
		delayedName: e.delayedName,
		useST:       e.useST,
		regexes:     &e.regexes,
	}, &res.space)
	if err := ev.openQuerier(q.queryable); err != nil {
		return nil, err
	}
	defer ev.close()

	val, err := ev.evalRoot(p.expr)
	if err == nil {
		err = ctx.Err()
		if err != nil {
			err = contextError(err, "expression evaluation")
		}
	}
	if err != nil {
		ev.arena.release()
		return nil, err
	}
	res.Value, res.Annotations = val, ev.annos
	res.Stats = Stats{TotalSamples: ev.budget.read, PeakSamples: int(ev.budget.peak.Load())}
	if _, ok := val.(Matrix); ok {
		res.arena = ev.arena
	} else {
		ev.arena.release() // vectors and scalars are copied out
	}
	return res, nil
}

// classify wraps an evaluation error into *Error. A storage error caused by
// the query's own context is reported as the timeout/cancellation it is.
func (e *Engine) classify(ctx context.Context, err error) *Error {
	var qe *Error
	if errors.As(err, &qe) {
		return qe
	}
	if cerr := ctx.Err(); cerr != nil && errors.Is(err, cerr) {
		return contextError(cerr, "expression evaluation")
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return &Error{Type: ErrTimeout, Err: err}
	case errors.Is(err, context.Canceled):
		return &Error{Type: ErrCanceled, Err: err}
	}
	return &Error{Type: ErrExecution, Err: err}
}
