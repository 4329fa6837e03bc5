package promql

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/promql/parser/posrange"
	"github.com/prometheus/prometheus/util/annotations"

	"github.com/graftlabs/graft/pkg/storage"
)

// rangeStep is what a range function sees at one step: the samples of one
// series inside the step's window and the values of its scalar arguments.
type rangeStep struct {
	floats []FPoint
	hists  []HPoint
	fST    []int64 // start timestamps of floats, when kept
	hST    []int64

	ts         int64   // evaluation time of the step
	rangeStart int64   // window start (exclusive) before any anchoring
	rangeEnd   int64   // window end
	rangeSec   float64 // the selector's range in seconds
	params     []float64
	anchored   bool
	smoothed   bool

	metric labels.Labels            // the input series
	pos    posrange.PositionRange   // of the first argument, for annotations
	annos  *annotations.Annotations // collects this series' annotations
	err    error                    // set by a kernel to fail the query
}

func (s *rangeStep) metricName() string { return s.metric.Get(labels.MetricName) }

// rangeKernel computes a range function at one step; ok=false means no
// output at that step.
type rangeKernel func(s *rangeStep) (f float64, h *histogram.FloatHistogram, ok bool)

var rangeKernels map[string]rangeKernel

func init() {
	rangeKernels = map[string]rangeKernel{
		"rate":                         kernelRate,
		"increase":                     kernelIncrease,
		"delta":                        kernelDelta,
		"irate":                        kernelIrate,
		"idelta":                       kernelIdelta,
		"avg_over_time":                kernelAvgOverTime,
		"sum_over_time":                kernelSumOverTime,
		"min_over_time":                kernelMinOverTime,
		"max_over_time":                kernelMaxOverTime,
		"count_over_time":              kernelCountOverTime,
		"last_over_time":               kernelLastOverTime,
		"first_over_time":              kernelFirstOverTime,
		"stddev_over_time":             kernelStddevOverTime,
		"stdvar_over_time":             kernelStdvarOverTime,
		"quantile_over_time":           kernelQuantileOverTime,
		"mad_over_time":                kernelMadOverTime,
		"present_over_time":            kernelPresentOverTime,
		"absent_over_time":             kernelPresentOverTime, // post-processed
		"ts_of_first_over_time":        kernelTsOfFirstOverTime,
		"ts_of_last_over_time":         kernelTsOfLastOverTime,
		"ts_of_max_over_time":          kernelTsOfMaxOverTime,
		"ts_of_min_over_time":          kernelTsOfMinOverTime,
		"changes":                      kernelChanges,
		"resets":                       kernelResets,
		"deriv":                        kernelDeriv,
		"predict_linear":               kernelPredictLinear,
		"double_exponential_smoothing": kernelDoubleExponentialSmoothing,
	}
}

// anchoredFuncs and smoothedFuncs accept the anchored / smoothed modifiers,
// whose windows reach past the range.
var (
	anchoredFuncs = map[string]bool{"resets": true, "changes": true, "rate": true, "increase": true, "delta": true}
	smoothedFuncs = map[string]bool{"rate": true, "increase": true, "delta": true}
)

// stFuncs are the functions that read start timestamps.
var stFuncs = map[string]bool{"rate": true, "irate": true, "increase": true, "resets": true}

// rangeSource is the range-vector argument of a function: a matrix selector
// over storage or a subquery over evaluated series.
type rangeSource struct {
	series    []storage.Series
	dropName  []bool // per series, from a subquery's result
	rangeMs   int64
	offset    int64
	at        *int64
	anchored  bool
	smoothed  bool
	pos       posrange.PositionRange
	fromStore bool
	statsOnly bool // read histograms as count and sum only
}

func (ev *evaluator) rangeSourceOf(arg parser.Expr) (*rangeSource, error) {
	switch a := arg.(type) {
	case *parser.MatrixSelector:
		vs := a.VectorSelector.(*parser.VectorSelector)
		series, ps, err := ev.seriesFor(vs)
		if err != nil {
			return nil, err
		}
		return &rangeSource{
			series:    series,
			rangeMs:   a.Range.Milliseconds(),
			offset:    vs.OriginalOffset.Milliseconds(),
			at:        vs.Timestamp,
			anchored:  vs.Anchored,
			smoothed:  vs.Smoothed,
			pos:       a.PositionRange(),
			fromStore: true,
			statsOnly: ps.statsOnly,
		}, nil
	case *parser.SubqueryExpr:
		// Like Prometheus's stats, a function over a subquery counts the
		// points in its windows, not what the subquery read.
		read := ev.budget.readSoFar()
		m, err := ev.evalSubquery(a)
		ev.budget.countRead(-int(ev.budget.readSoFar() - read))
		if err != nil {
			return nil, err
		}
		src := &rangeSource{
			series:   make([]storage.Series, len(m)),
			dropName: make([]bool, len(m)),
			rangeMs:  a.Range.Milliseconds(),
			offset:   a.OriginalOffset.Milliseconds(),
			at:       a.Timestamp,
			// Prometheus reports positions inside a function over a
			// subquery as the start of the query.
			pos: posrange.PositionRange{},
		}
		for i := range m {
			src.series[i] = memSeries{s: &m[i]}
			src.dropName[i] = m[i].dropName
		}
		return src, nil
	}
	return nil, fmt.Errorf("expected a range vector, got %T", arg)
}

// evalRangeFunc evaluates a function over a range vector: each series is read
// once while a window slides over it, and the function runs at every step.
func (ev *evaluator) evalRangeFunc(e *parser.Call, matrixArg int) (Matrix, error) {
	name := e.Func.Name
	params, err := ev.scalarParams(e.Args, matrixArg)
	if err != nil {
		return nil, err
	}
	src, err := ev.rangeSourceOf(e.Args[matrixArg])
	if err != nil {
		return nil, err
	}
	switch {
	case src.anchored && !anchoredFuncs[name]:
		return nil, fmt.Errorf("anchored modifier can only be used with: %s - not with %s", sortedNames(anchoredFuncs), name)
	case src.smoothed && !smoothedFuncs[name]:
		return nil, fmt.Errorf("smoothed modifier can only be used with: %s - not with %s", sortedNames(smoothedFuncs), name)
	}
	kernel := rangeKernels[name]
	wantST := ev.opts.useST && stFuncs[name] && src.fromStore

	out := make(Matrix, len(src.series))
	err = ev.parallel(len(src.series), func(a *pointArena) seriesWorker {
		w := &rangeWorker{
			ev: ev, src: src, params: params, kernel: kernel, out: out, arena: a,
			// double_exponential_smoothing interleaves steps unless pinned.
			des:         name == "double_exponential_smoothing" && src.at == nil,
			keepName:    name == "last_over_time" || name == "first_over_time",
			wantST:      wantST,
			counterHint: name == "rate" || name == "increase",
			argPos:      argPos(e.Args, 0),
		}
		w.step = rangeStep{rangeSec: float64(src.rangeMs) / 1000, anchored: src.anchored, smoothed: src.smoothed, pos: w.argPos}
		w.step.params = make([]float64, len(params))
		// Start the window's buffer in the arena, with room for short
		// ranges: growing it from nothing costs several allocations.
		w.win.fbuf = a.floats(windowPoints)
		return w
	})
	if err != nil {
		return nil, err
	}
	m := compactEmpty(out)
	if name == "absent_over_time" {
		return ev.absentOverTime(m, e.Args[0]), nil
	}
	if !ev.opts.delayedName {
		if err := rejectSameLabels(m); err != nil {
			return nil, err
		}
	}
	return m, ev.budget.add(m.points())
}

// windowPoints is the room a range function's window starts with.
const windowPoints = 32

// rangeWorker evaluates a range function series by series; one per
// goroutine, reusing its window, cursor, iterator and annotations.
type rangeWorker struct {
	ev     *evaluator
	src    *rangeSource
	params []scalarValue
	kernel rangeKernel
	out    Matrix
	arena  *pointArena
	argPos posrange.PositionRange

	des         bool // slide with slideDES
	keepName    bool // the function keeps the metric name
	wantST      bool // read start timestamps
	counterHint bool // hint at non-counter names (rate, increase)

	win        window
	cur        cursor
	it         storage.Iterator
	step       rangeStep
	annos      annotations.Annotations // reused from series to series
	nonCounter string                  // the last name given the non-counter hint
}

func (w *rangeWorker) run(i int) error {
	ev, src, a := w.ev, w.src, w.arena
	s := src.series[i]
	lset := s.Labels()
	w.it = statsAwareIterator(s, w.it, src.statsOnly)
	w.cur.reset(w.it, w.wantST)
	w.cur.feed = src.statsOnly
	w.win.reset(w.wantST)
	w.step.annos, w.step.metric = &w.annos, lset
	res := Series{Metric: lset, dropName: !w.keepName || (src.dropName != nil && src.dropName[i])}
	if res.dropName && !ev.opts.delayedName {
		res.Metric = dropMetricName(res.Metric)
	}
	var err error
	if w.des {
		err = ev.slideDES(&w.win, &w.cur, src, &w.step, w.params, w.kernel, &res, a)
	} else {
		err = ev.slide(&w.win, &w.cur, src, &w.step, w.params, w.kernel, &res, a)
	}
	if err != nil {
		return err
	}
	res.Floats, res.Histograms = a.doneFloats(res.Floats), a.doneHists(res.Histograms)
	if err := w.it.Err(); err != nil {
		return fmt.Errorf("reading series %s: %w", lset, err)
	}
	if w.counterHint {
		// Straight to the query's annotations: building the hint costs
		// more than the rate of a short window, and series of one metric
		// come one after another, so it is built once per run of them.
		if name := nonCounterName(lset, &res); name != "" && name != w.nonCounter {
			ev.warn(annotations.NewPossibleNonCounterInfo(name, w.argPos))
			w.nonCounter = name
		}
	}
	if len(w.annos) > 0 {
		ev.annotate(w.annos)
		clear(w.annos)
	}
	w.out[i] = res
	return nil
}

// slide runs the kernel at every step for one series.
func (ev *evaluator) slide(win *window, cur *cursor, src *rangeSource, step *rangeStep, params []scalarValue, kernel rangeKernel, res *Series, a *pointArena) error {
	lookback := ev.plan.lookback
	// The window is charged to the budget by its peak, once per series:
	// per-step updates of the shared budget would make parallel workers
	// contend.
	peak, read := 0, 0
	defer func() {
		ev.budget.release(peak)
		ev.budget.countRead(read)
	}()
	for k := range ev.steps {
		ts := ev.ts(k)
		ref := ts
		if src.at != nil {
			ref = *src.at
		}
		ref -= src.offset
		if k == 0 || src.at == nil {
			mint, maxt := ref-src.rangeMs, ref
			switch {
			case src.anchored:
				mint -= lookback
			case src.smoothed:
				mint -= lookback
				maxt += lookback
			}
			win.fill(cur, mint, maxt)
			if n := win.size(); n > peak {
				if err := ev.budget.add(n - peak); err != nil {
					return err
				}
				peak = n
			}
		}
		if win.empty() {
			continue
		}
		// Like Prometheus's stats: every step counts its whole window.
		read += win.size()
		for j, p := range params {
			step.params[j] = p[k]
		}
		step.floats, step.hists, step.fST, step.hST = win.floats, win.hists, win.fST, win.hST
		step.ts, step.rangeStart, step.rangeEnd = ts, ref-src.rangeMs, ref
		f, h, ok := kernel(step)
		if step.err != nil {
			return step.err
		}
		if !ok {
			continue
		}
		if h != nil {
			if cap(res.Histograms) == 0 {
				res.Histograms = a.hists(ev.steps - k)
			}
			res.Histograms = append(res.Histograms, HPoint{T: ts, H: h})
		} else {
			if cap(res.Floats) == 0 {
				res.Floats = a.floats(ev.steps - k)
			}
			res.Floats = append(res.Floats, FPoint{T: ts, F: f})
		}
	}
	return nil
}

// argPos is the position annotations give for a function argument. Like
// Prometheus, which evaluates a subquery argument into a matrix selector
// without position, a subquery has position zero.
func argPos(args parser.Expressions, i int) posrange.PositionRange {
	if _, ok := args[i].(*parser.SubqueryExpr); ok {
		return posrange.PositionRange{}
	}
	return args[i].PositionRange()
}

// scalarParams evaluates the scalar arguments of a function (all but the
// argument at skip).
func (ev *evaluator) scalarParams(args parser.Expressions, skip int) ([]scalarValue, error) {
	var out []scalarValue
	for i, a := range args {
		if i == skip || a.Type() != parser.ValueTypeScalar {
			continue
		}
		v, err := ev.evalScalar(a)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// nonCounterName returns the metric name of a rate() or increase() result
// that deserves Prometheus's hint that those functions are meant for
// counters (judged by the name), or "".
func nonCounterName(metric labels.Labels, res *Series) string {
	name := metric.Get(labels.MetricName)
	if name == "" || len(res.Floats) == 0 {
		return ""
	}
	for _, suffix := range []string{"_total", "_sum", "_count", "_bucket"} {
		if strings.HasSuffix(name, suffix) {
			return ""
		}
	}
	return name
}

// absentOverTime turns the per-series results of absent_over_time (a point
// wherever a series had samples) into one series with a point at every step
// where none had.
func (ev *evaluator) absentOverTime(m Matrix, arg parser.Expr) Matrix {
	found := make([]bool, ev.steps)
	for _, s := range m {
		for _, p := range s.Floats {
			found[ev.stepOf(p.T)] = true
		}
		for _, p := range s.Histograms {
			found[ev.stepOf(p.T)] = true
		}
	}
	res := Series{Metric: absentLabels(arg), dropName: true}
	for i, ok := range found {
		if !ok {
			res.Floats = append(res.Floats, FPoint{T: ev.ts(i), F: 1})
		}
	}
	if res.empty() {
		return Matrix{}
	}
	return Matrix{res}
}

func sortedNames(m map[string]bool) string {
	return strings.Join(slices.Sorted(maps.Keys(m)), ", ")
}
