package promql

import (
	"context"
	"errors"
	"fmt"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/graftlabs/graft/pkg/storage"
)

// stepGrid is the list of evaluation timestamps of a query, in ms.
type stepGrid struct {
	start, step int64
	n           int
}

func newStepGrid(start, end, step int64) stepGrid {
	return stepGrid{start: start, step: step, n: int((end-start)/step) + 1}
}

// at returns the timestamp of step i.
func (g stepGrid) at(i int) int64 { return g.start + int64(i)*g.step }

// stepSeries is one labelled series evaluated at every step of the grid.
// present[i] says whether the series has a value at step i.
type stepSeries struct {
	metric  labels.Labels
	vals    []float64
	present []bool
}

func newStepSeries(metric labels.Labels, n int) stepSeries {
	return stepSeries{metric: metric, vals: make([]float64, n), present: make([]bool, n)}
}

func (s *stepSeries) set(i int, v float64) {
	s.vals[i] = v
	s.present[i] = true
}

// count returns the number of steps with a value.
func (s *stepSeries) count() int {
	n := 0
	for _, p := range s.present {
		if p {
			n++
		}
	}
	return n
}

// nodeValue is what evaluating one node yields over the whole step grid:
// vectorResult, scalarResult, stringResult or matrixResult.
type nodeValue interface {
	// points returns how many samples the value holds, for MaxSamples.
	points() int
}

type (
	// vectorResult is an instant vector over all steps.
	vectorResult []stepSeries
	// scalarResult holds one value per step; scalars are always present.
	scalarResult []float64
	// stringResult is a string literal.
	stringResult string
	// matrixResult is a raw range vector; only a top-level matrix selector
	// in an instant query produces it.
	matrixResult Matrix
)

func (r vectorResult) points() int {
	n := 0
	for i := range r {
		n += r[i].count()
	}
	return n
}

func (r scalarResult) points() int { return len(r) }

func (stringResult) points() int { return 0 }

func (r matrixResult) points() int {
	n := 0
	for _, s := range r {
		n += len(s.Floats)
	}
	return n
}

// evaluator evaluates one query over its step grid.
type evaluator struct {
	ctx          context.Context
	querier      storage.Querier // nil when the query selects no series
	grid         stepGrid
	qStart, qEnd int64 // query start and end, for @ start() and @ end()
	lookback     int64 // ms
	hintStep     int64 // query step for storage hints; 0 for instant queries
	budget       sampleBudget
}

func (ev *evaluator) close() {
	if ev.querier != nil {
		_ = ev.querier.Close() // read-only querier: nothing to flush
	}
}

// checkCtx is called once per node and per series, like Prometheus does.
func (ev *evaluator) checkCtx() error {
	if err := ev.ctx.Err(); err != nil {
		return contextError(err, "expression evaluation")
	}
	return nil
}

// eval evaluates expr over the whole grid. It also keeps the sample budget:
// while a node runs, its children's results are held; once it returns only
// its own output is. The peak (children plus output) is what is checked.
func (ev *evaluator) eval(expr parser.Expr) (nodeValue, error) {
	if err := ev.checkCtx(); err != nil {
		return nil, err
	}
	mark, outerCounted := ev.budget.cur, ev.budget.counted
	ev.budget.counted = 0
	res, err := ev.evalNode(expr)
	counted := ev.budget.counted
	ev.budget.counted = outerCounted
	if err != nil {
		return nil, err
	}
	n := res.points()
	if err := ev.budget.add(n - counted); err != nil {
		return nil, err
	}
	ev.budget.cur = mark + n
	return res, nil
}

func (ev *evaluator) evalNode(expr parser.Expr) (nodeValue, error) {
	switch e := expr.(type) {
	case *parser.NumberLiteral:
		return ev.constScalar(e.Val), nil
	case *parser.StringLiteral:
		return stringResult(e.Val), nil
	case *parser.ParenExpr:
		return ev.evalNode(e.Expr)
	case *parser.UnaryExpr:
		return ev.evalUnary(e)
	case *parser.VectorSelector:
		return ev.evalVectorSelector(e)
	case *parser.MatrixSelector:
		return ev.evalMatrixSelector(e)
	case *parser.Call:
		return ev.evalCall(e)
	case *parser.AggregateExpr:
		return ev.evalAggregate(e)
	case *parser.BinaryExpr:
		return ev.evalBinary(e)
	}
	// checkSupported rejects everything else before evaluation starts.
	return nil, fmt.Errorf("unexpected expression type %T", expr)
}

// evalVector evaluates an expression the parser typed as an instant vector.
func (ev *evaluator) evalVector(expr parser.Expr) (vectorResult, error) {
	res, err := ev.eval(expr)
	if err != nil {
		return nil, err
	}
	v, ok := res.(vectorResult)
	if !ok {
		return nil, fmt.Errorf("expected instant vector from %q, got %T", expr, res)
	}
	return v, nil
}

// evalScalar evaluates an expression the parser typed as a scalar.
func (ev *evaluator) evalScalar(expr parser.Expr) (scalarResult, error) {
	res, err := ev.eval(expr)
	if err != nil {
		return nil, err
	}
	s, ok := res.(scalarResult)
	if !ok {
		return nil, fmt.Errorf("expected scalar from %q, got %T", expr, res)
	}
	return s, nil
}

func (ev *evaluator) constScalar(v float64) scalarResult {
	out := make(scalarResult, ev.grid.n)
	for i := range out {
		out[i] = v
	}
	return out
}

// evalUnary handles unary minus (unary plus is a no-op). Like Prometheus,
// negating a vector drops the metric name.
func (ev *evaluator) evalUnary(e *parser.UnaryExpr) (nodeValue, error) {
	res, err := ev.eval(e.Expr)
	if err != nil || e.Op != parser.SUB {
		return res, err
	}
	switch r := res.(type) {
	case scalarResult:
		out := make(scalarResult, len(r))
		for i, v := range r {
			out[i] = -v
		}
		return out, nil
	case vectorResult:
		out := make(vectorResult, len(r))
		for i, s := range r {
			ns := newStepSeries(dropMetricName(s.metric), len(s.vals))
			for k, p := range s.present {
				if p {
					ns.set(k, -s.vals[k])
				}
			}
			out[i] = ns
		}
		return mergeSameLabels(out, ev.grid.n)
	}
	return nil, fmt.Errorf("unary minus on unexpected %T", res)
}

// isMetadataLabel reports the labels Prometheus 3 drops together with the
// metric name (__name__, __type__, __unit__).
func isMetadataLabel(name string) bool {
	return name == labels.MetricName || name == "__type__" || name == "__unit__"
}

// dropMetricName removes the metric name (and its type/unit metadata) where
// an operation changes the meaning of the value.
func dropMetricName(l labels.Labels) labels.Labels {
	return l.DropReserved(isMetadataLabel)
}

var errDuplicateLabelset = errors.New("vector cannot contain metrics with the same labelset")

// seriesTable collects output series by labelset.
type seriesTable struct {
	n     int
	index map[string]int
	out   vectorResult
	buf   []byte
}

func newSeriesTable(n, sizeHint int) *seriesTable {
	return &seriesTable{n: n, index: make(map[string]int, sizeHint)}
}

// find returns the index of the series with metric m, if any.
func (t *seriesTable) find(m labels.Labels) (int, bool) {
	t.buf = m.Bytes(t.buf)
	i, ok := t.index[string(t.buf)]
	return i, ok
}

// insert adds s, whose labels must not be in the table yet.
func (t *seriesTable) insert(s stepSeries) int {
	t.buf = s.metric.Bytes(t.buf)
	t.index[string(t.buf)] = len(t.out)
	t.out = append(t.out, s)
	return len(t.out) - 1
}

// get returns the index of the series with metric m, creating it if needed.
func (t *seriesTable) get(m labels.Labels) int {
	if i, ok := t.find(m); ok {
		return i
	}
	return t.insert(newStepSeries(m, t.n))
}

// result returns the series that have at least one value.
func (t *seriesTable) result() vectorResult {
	out := t.out[:0]
	for _, s := range t.out {
		if s.count() > 0 {
			out = append(out, s)
		}
	}
	return out
}

// mergeSameLabels folds together series that ended up with the same labels
// (typically after dropping the metric name). Prometheus assembles results
// step by step keyed by labels, so such series merge as long as they never
// have a value at the same step; if they do, the query fails.
func mergeSameLabels(in vectorResult, n int) (vectorResult, error) {
	if len(in) < 2 {
		return in, nil
	}
	t := newSeriesTable(n, len(in))
	for _, s := range in {
		i, ok := t.find(s.metric)
		if !ok { // first series with these labels: adopt it as is
			t.insert(s)
			continue
		}
		dst := &t.out[i]
		for k, p := range s.present {
			if !p {
				continue
			}
			if dst.present[k] {
				return nil, errDuplicateLabelset
			}
			dst.set(k, s.vals[k])
		}
	}
	return t.result(), nil
}

// rejectSameLabels fails if two non-empty series share a labelset, at any
// step. This is Prometheus's (stricter) rule for functions over range
// vectors, e.g. rate({__name__=~"a_total|b_total"}[5m]).
func rejectSameLabels(in vectorResult) error {
	if len(in) < 2 {
		return nil
	}
	seen := make(map[string]struct{}, len(in))
	var buf []byte
	for _, s := range in {
		buf = s.metric.Bytes(buf)
		if _, dup := seen[string(buf)]; dup {
			return errDuplicateLabelset
		}
		seen[string(buf)] = struct{}{}
	}
	return nil
}

// toValue converts the root node's result into the public Value types.
func (ev *evaluator) toValue(res nodeValue, instant bool) Value {
	switch r := res.(type) {
	case stringResult:
		return String{T: ev.grid.start, V: string(r)}
	case matrixResult:
		m := Matrix(r)
		if m == nil {
			m = Matrix{} // empty, not null, once encoded
		}
		m.sortByLabels()
		return m
	case scalarResult:
		if instant {
			return Scalar{T: ev.grid.start, V: r[0]}
		}
		s := Series{Metric: labels.EmptyLabels(), Floats: make([]FPoint, len(r))}
		for i, v := range r {
			s.Floats[i] = FPoint{T: ev.grid.at(i), F: v}
		}
		return Matrix{s}
	case vectorResult:
		if instant {
			return ev.toVector(r)
		}
		return ev.toMatrix(r)
	}
	panic(fmt.Sprintf("promql: unexpected result type %T", res))
}

func (ev *evaluator) toVector(r vectorResult) Vector {
	out := make(Vector, 0, len(r))
	for _, s := range r {
		if s.present[0] {
			out = append(out, Sample{Metric: s.metric, T: ev.grid.start, F: s.vals[0]})
		}
	}
	out.sortByLabels()
	return out
}

func (ev *evaluator) toMatrix(r vectorResult) Matrix {
	out := make(Matrix, 0, len(r))
	for _, s := range r {
		pts := make([]FPoint, 0, s.count())
		for i, p := range s.present {
			if p {
				pts = append(pts, FPoint{T: ev.grid.at(i), F: s.vals[i]})
			}
		}
		if len(pts) > 0 {
			out = append(out, Series{Metric: s.metric, Floats: pts})
		}
	}
	out.sortByLabels()
	return out
}
