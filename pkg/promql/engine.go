// Package promql is Graft's PromQL evaluator.
//
// A query goes through three stages: parse (Prometheus's parser), check
// (reject what this version does not implement, before touching storage) and
// evaluate. Evaluation works node by node over the whole step grid at once:
// every node of the expression tree produces all its steps, series by series,
// and hands them to its parent. An instant query is a range query with one
// step. This shape is the seed of a later logical plan / physical operator
// split: each eval* function is one operator.
package promql

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/prometheus/model/timestamp"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/graftlabs/graft/pkg/storage"
)

// Defaults applied by NewEngine to zero options.
const (
	defaultLookbackDelta = 5 * time.Minute
	defaultTimeout       = 2 * time.Minute
	defaultMaxSamples    = 50_000_000

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
}

// Engine evaluates PromQL queries against a storage.Queryable. It is safe for
// concurrent use.
type Engine struct {
	lookback   time.Duration
	timeout    time.Duration
	maxSamples int
	parser     parser.Parser
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
	return &Engine{
		lookback:   opts.LookbackDelta,
		timeout:    opts.Timeout,
		maxSamples: opts.MaxSamples,
		parser:     parser.NewParser(parser.Options{}),
	}
}

// Result is the outcome of a successful query.
type Result struct {
	Value    Value
	Warnings []string
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

// Error is the only error type Instant and Range return.
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

// Instant evaluates query at ts. The result is a Vector, Scalar or String, or
// a Matrix when the expression is a range vector such as foo[5m].
func (e *Engine) Instant(ctx context.Context, q storage.Queryable, query string, ts time.Time) (*Result, error) {
	t := timestamp.FromTime(ts)
	return e.exec(ctx, q, query, queryRange{start: t, end: t, step: 1, instant: true})
}

// Range evaluates query at every step from start to end inclusive and returns
// a Matrix.
func (e *Engine) Range(ctx context.Context, q storage.Queryable, query string, start, end time.Time, step time.Duration) (*Result, error) {
	if err := validateRange(start, end, step); err != nil {
		return nil, err
	}
	return e.exec(ctx, q, query, queryRange{
		start: timestamp.FromTime(start),
		end:   timestamp.FromTime(end),
		step:  step.Milliseconds(),
	})
}

// validateRange applies the checks (and messages) of Prometheus's
// /api/v1/query_range handler.
func validateRange(start, end time.Time, step time.Duration) error {
	switch {
	case end.Before(start):
		return badData("end timestamp must not be before start time")
	case step <= 0:
		return badData("zero or negative query resolution step widths are not accepted. Try a positive integer")
	case end.Sub(start)/step > maxPointsPerSeries:
		return badData("exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)")
	}
	// Steps below a millisecond would make the grid degenerate.
	if step < time.Millisecond {
		return badData("query resolution step must be at least 1ms")
	}
	return nil
}

// queryRange is the evaluation grid of one query, in ms.
type queryRange struct {
	start, end, step int64
	instant          bool
}

func (e *Engine) exec(ctx context.Context, q storage.Queryable, query string, qr queryRange) (*Result, error) {
	expr, err := e.prepare(query, qr)
	if err != nil {
		return nil, err
	}

	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	if err := ctx.Err(); err != nil {
		return nil, contextError(err, "query execution")
	}

	ev := &evaluator{
		ctx:      ctx,
		grid:     newStepGrid(qr.start, qr.end, qr.step),
		qStart:   qr.start,
		qEnd:     qr.end,
		lookback: e.lookback.Milliseconds(),
		budget:   sampleBudget{max: e.maxSamples},
	}
	if !qr.instant {
		ev.hintStep = qr.step
	}
	if err := ev.openQuerier(q, expr); err != nil {
		return nil, e.classify(ctx, err)
	}
	defer ev.close()

	res, err := ev.eval(expr)
	if err != nil {
		return nil, e.classify(ctx, err)
	}
	return &Result{Value: ev.toValue(res, qr.instant)}, nil
}

// prepare parses and checks the query. Every error here is bad_data.
func (e *Engine) prepare(query string, qr queryRange) (parser.Expr, error) {
	expr, err := e.parser.ParseExpr(query)
	if err != nil {
		return nil, &Error{Type: ErrBadData, Err: err}
	}
	if !qr.instant {
		if t := expr.Type(); t != parser.ValueTypeVector && t != parser.ValueTypeScalar {
			return nil, badData("invalid expression type %q for range query, must be Scalar or instant Vector", parser.DocumentedType(t))
		}
	}
	if err := checkSupported(expr, query); err != nil {
		return nil, err
	}
	return expr, nil
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

// sampleBudget enforces MaxSamples. cur counts the points held by live node
// results plus raw samples buffered by range-vector windows. counted is the
// part of the running node's output it already added itself (selectors add
// series by series so that a huge selection fails early).
type sampleBudget struct {
	max, cur, counted int
}

// addOutput counts output points of the running node as they are produced.
func (b *sampleBudget) addOutput(n int) error {
	b.counted += n
	return b.add(n)
}

func (b *sampleBudget) add(n int) error {
	b.cur += n
	if b.cur > b.max {
		return errTooManySamples
	}
	return nil
}

func (b *sampleBudget) release(n int) { b.cur -= n }
