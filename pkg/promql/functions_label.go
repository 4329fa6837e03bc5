package promql

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/facette/natsort"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

func stringArg(e parser.Expr) string { return unwrapParens(e).(*parser.StringLiteral).Val }

// labelReplace implements label_replace(v, dst, replacement, src, regex).
// Arguments are checked before the vector is evaluated.
func (ev *evaluator) labelReplace(args parser.Expressions) (Matrix, error) {
	dst, repl, src, regexStr := stringArg(args[1]), stringArg(args[2]), stringArg(args[3]), stringArg(args[4])
	re, err := ev.opts.regexes.compile("^(?s:" + regexStr + ")$")
	if err != nil {
		return nil, fmt.Errorf("invalid regular expression in label_replace(): %s", regexStr)
	}
	if !model.UTF8Validation.IsValidLabelName(dst) {
		return nil, fmt.Errorf("invalid destination label name in label_replace(): %s", dst)
	}
	m, err := ev.evalVector(args[0])
	if err != nil {
		return nil, err
	}
	lb := labels.NewBuilder(labels.EmptyLabels())
	for i := range m {
		s := &m[i]
		srcVal := s.Metric.Get(src)
		idx := re.FindStringSubmatchIndex(srcVal)
		if idx == nil {
			continue // only a match replaces
		}
		res := re.ExpandString(nil, repl, srcVal, idx)
		lb.Reset(s.Metric)
		lb.Set(dst, string(res))
		s.Metric = lb.Labels()
		if dst == labels.MetricName {
			s.dropName = false // a name set on purpose stays
		}
	}
	return mergeSameLabels(m)
}

// labelJoin implements label_join(v, dst, separator, src...).
func (ev *evaluator) labelJoin(args parser.Expressions) (Matrix, error) {
	dst, sep := stringArg(args[1]), stringArg(args[2])
	srcs := make([]string, len(args)-3)
	for i := 3; i < len(args); i++ {
		src := stringArg(args[i])
		if !model.UTF8Validation.IsValidLabelName(src) {
			return nil, fmt.Errorf("invalid source label name in label_join(): %s", src)
		}
		srcs[i-3] = src
	}
	if !model.UTF8Validation.IsValidLabelName(dst) {
		return nil, fmt.Errorf("invalid destination label name in label_join(): %s", dst)
	}
	m, err := ev.evalVector(args[0])
	if err != nil {
		return nil, err
	}
	lb := labels.NewBuilder(labels.EmptyLabels())
	vals := make([]string, len(srcs))
	for i := range m {
		s := &m[i]
		for k, src := range srcs {
			vals[k] = s.Metric.Get(src)
		}
		lb.Reset(s.Metric)
		lb.Set(dst, strings.Join(vals, sep))
		s.Metric = lb.Labels()
		if dst == labels.MetricName {
			s.dropName = false
		}
	}
	return mergeSameLabels(m)
}

// evalSort implements sort, sort_desc, sort_by_label and sort_by_label_desc.
// Only instant queries keep the order; range query results are ordered by
// labels whatever happens.
func (ev *evaluator) evalSort(e *parser.Call) (Matrix, error) {
	m, err := ev.evalVector(e.Args[0])
	if err != nil {
		return nil, err
	}
	// After the argument's: of two equal annotations the last one added
	// stays, and in Prometheus that is the outer one.
	ev.sortInRangeWarning(e)
	name := e.Func.Name
	if name == "sort" || name == "sort_desc" {
		for i := range m {
			m[i].Histograms = nil // sorting by value ignores histograms
		}
		m = compactEmpty(m)
	}
	if !ev.instant() {
		return m, nil
	}
	switch name {
	case "sort":
		slices.SortStableFunc(m, func(a, b Series) int { return compareValues(a.Floats[0].F, b.Floats[0].F, false) })
	case "sort_desc":
		slices.SortStableFunc(m, func(a, b Series) int { return compareValues(a.Floats[0].F, b.Floats[0].F, true) })
	default:
		names := make([]string, len(e.Args)-1)
		for i, a := range e.Args[1:] {
			names[i] = stringArg(a)
		}
		desc := name == "sort_by_label_desc"
		slices.SortFunc(m, func(a, b Series) int {
			c := compareByLabels(a.Metric, b.Metric, names)
			if desc {
				return -c
			}
			return c
		})
	}
	return m, nil
}

// compareValues orders by value, ascending or descending, NaN last.
func compareValues(a, b float64, desc bool) int {
	switch {
	case math.IsNaN(a) && math.IsNaN(b):
		return 0
	case math.IsNaN(a):
		return 1
	case math.IsNaN(b):
		return -1
	case a == b:
		return 0
	case (a < b) != desc:
		return -1
	}
	return 1
}

// compareByLabels orders by the given labels in natural order, then by the
// whole label set so that the order is total.
func compareByLabels(a, b labels.Labels, names []string) int {
	for _, n := range names {
		va, vb := a.Get(n), b.Get(n)
		if va == vb {
			continue
		}
		if natsort.Compare(va, vb) {
			return -1
		}
		return 1
	}
	return labels.Compare(a, b)
}
