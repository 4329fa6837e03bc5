package promql

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/grafana/regexp"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/graftlabs/graft/pkg/storage"
)

// info(v, {data label matchers}) adds the labels of "info" series (by
// default target_info) to the series of v that share their identifying
// labels, instance and job.

const targetInfo = "target_info"

var identifyingLabels = [...]string{"instance", "job"}

// infoRef is the time reference of a selector: its @ time and offset.
type infoRef struct {
	at     *int64
	offset time.Duration
}

func (r infoRef) equal(o infoRef) bool {
	if r.at == nil || o.at == nil {
		return r.at == nil && o.at == nil && r.offset.Milliseconds() == o.offset.Milliseconds()
	}
	return *r.at-r.offset.Milliseconds() == *o.at-o.offset.Milliseconds()
}

// infoReference finds the time reference info() reads metadata at: the one
// shared by every selector of its first argument. uniform is false when
// they differ or when a part of the expression selects nothing.
func infoReference(expr parser.Expr) (at *int64, offset time.Duration, uniform bool) {
	var (
		first         infoRef
		found         bool
		referenceFree bool
	)
	uniform = true
	var inspect func(parser.Expr, []parser.Node) bool
	inspect = func(expr parser.Expr, path []parser.Node) bool {
		if t := expr.Type(); t != parser.ValueTypeVector && t != parser.ValueTypeMatrix {
			return false
		}
		if vs, ok := expr.(*parser.VectorSelector); ok {
			ref := infoRef{at: vs.Timestamp, offset: vs.OriginalOffset}
			for i := len(path) - 1; ref.at == nil && i >= 0; i-- {
				if sq, ok := path[i].(*parser.SubqueryExpr); ok {
					ref.offset += sq.OriginalOffset
					ref.at = sq.Timestamp
				}
			}
			if !found {
				first, found = ref, true
			} else if !first.equal(ref) {
				uniform = false
			}
			return true
		}
		path = append(path, expr)
		if call, ok := expr.(*parser.Call); ok && call.Func.Name == "info" {
			return inspect(call.Args[0], path)
		}
		hasSelector := false
		for child := range parser.ChildrenIter(expr) {
			if ce, ok := child.(parser.Expr); ok && inspect(ce, path) {
				hasSelector = true
			}
		}
		if !hasSelector {
			referenceFree = true
		}
		return hasSelector
	}
	inspect(expr, nil)
	if !found {
		return nil, 0, false
	}
	return first.at, first.offset, uniform && !referenceFree
}

// infoSelectReference is infoReference when uniform, else "now".
func infoSelectReference(expr parser.Expr) (*int64, time.Duration) {
	at, offset, uniform := infoReference(expr)
	if !uniform {
		return nil, 0
	}
	return at, offset
}

// effectiveInfoNameMatchers narrows the matchers on the info metric's name:
// without an equality or regex one they only apply to *_info metrics, and
// without any the metric is target_info.
func effectiveInfoNameMatchers(ms []*labels.Matcher) []*labels.Matcher {
	for _, m := range ms {
		if m.Type == labels.MatchEqual || m.Type == labels.MatchRegexp {
			return ms
		}
	}
	if len(ms) > 0 {
		return append([]*labels.Matcher{labels.MustNewMatcher(labels.MatchRegexp, labels.MetricName, ".+_info")}, ms...)
	}
	return []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, labels.MetricName, targetInfo)}
}

func (ev *evaluator) evalInfo(args parser.Expressions) (Matrix, error) {
	at, offset := infoSelectReference(args[0])
	base, err := ev.evalVector(args[0])
	if err != nil {
		return nil, err
	}
	dataMatchers := map[string][]*labels.Matcher{}
	var nameMatchers []*labels.Matcher
	if len(args) > 1 {
		for _, m := range args[1].(*parser.VectorSelector).LabelMatchers {
			dataMatchers[m.Name] = append(dataMatchers[m.Name], m)
			if m.Name == labels.MetricName {
				nameMatchers = append(nameMatchers, m)
			}
		}
	} else {
		nameMatchers = []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, labels.MetricName, targetInfo)}
	}
	ignored := infoSeriesOf(base, effectiveInfoNameMatchers(nameMatchers))
	infos, err := ev.fetchInfoSeries(base, ignored, dataMatchers, at, offset)
	if err != nil {
		return nil, err
	}
	return ev.combineWithInfo(base, infos, ignored, dataMatchers)
}

// infoSeriesOf marks the input series that are info metrics themselves:
// they pass through unchanged.
func infoSeriesOf(m Matrix, nameMatchers []*labels.Matcher) []bool {
	out := make([]bool, len(m))
	for i, s := range m {
		name := s.Metric.Get(labels.MetricName)
		out[i] = true
		for _, nm := range nameMatchers {
			if !nm.Matches(name) {
				out[i] = false
				break
			}
		}
	}
	return out
}

// fetchInfoSeries selects the info series that may match the input and
// evaluates them over the grid; their values are their samples' timestamps.
// It also removes the name matchers from dataMatchers.
func (ev *evaluator) fetchInfoSeries(base Matrix, ignored []bool, dataMatchers map[string][]*labels.Matcher, at *int64, offset time.Duration) (Matrix, error) {
	sets := identifyingMatcherSets(base, ignored)
	var names, data []*labels.Matcher
	for _, ms := range dataMatchers {
		for _, m := range ms {
			if m.Name == labels.MetricName {
				names = append(names, m)
			} else {
				data = append(data, m)
			}
		}
	}
	delete(dataMatchers, labels.MetricName)
	if len(sets) == 0 {
		return nil, nil
	}
	nameMs := effectiveInfoNameMatchers(names)
	hints := ev.infoHints(at, offset)
	var series []storage.Series
	for _, ident := range sets {
		ms := slices.Concat(ident, data, nameMs)
		got, err := expandSeriesSet(ev.ctx, ev.querier.Select(ev.ctx, &hints, ms...))
		if err != nil {
			return nil, err
		}
		series = append(series, got...)
	}
	out := make(Matrix, 0, len(series))
	var (
		w  lookbackWalker
		it storage.Iterator
	)
	for _, s := range series {
		it = s.Iterator(it)
		w.reset(it, false)
		res := Series{Metric: s.Labels()}
		for k := range ev.steps {
			ref := ev.ts(k)
			if at != nil {
				ref = *at
			}
			if !w.at(ref-offset.Milliseconds(), ev.plan.lookback) {
				continue
			}
			if w.isH {
				return nil, fmt.Errorf("this should be an info metric, with float samples: %s", res.Metric)
			}
			res.Floats = append(res.Floats, FPoint{T: ev.ts(k), F: float64(w.t)})
		}
		if err := it.Err(); err != nil {
			return nil, err
		}
		if !res.empty() {
			out = append(out, res)
		}
	}
	return out, nil
}

func (ev *evaluator) infoHints(at *int64, offset time.Duration) storage.SelectHints {
	start, end := ev.start, ev.end
	if at != nil {
		start, end = *at, *at
	}
	start -= ev.plan.lookback - 1
	start -= offset.Milliseconds()
	end -= offset.Milliseconds()
	return storage.SelectHints{Start: start, End: end, Step: ev.interval, Func: "info", Unsorted: true}
}

// identifyingMatcherSets builds, per combination of present identifying
// labels, matchers for the values the input has.
func identifyingMatcherSets(m Matrix, ignored []bool) [][]*labels.Matcher {
	type group [len(identifyingLabels)]map[string]struct{}
	groups := map[int]*group{}
	for i, s := range m {
		if ignored[i] {
			continue
		}
		presence := 0
		var vals [len(identifyingLabels)]string
		for j, name := range identifyingLabels {
			vals[j] = s.Metric.Get(name)
			if vals[j] != "" {
				// instance weighs 2 and job 1, Prometheus's ordering.
				presence |= 1 << (len(identifyingLabels) - 1 - j)
			}
		}
		if presence == 0 {
			continue
		}
		g := groups[presence]
		if g == nil {
			g = &group{}
			groups[presence] = g
		}
		for j, v := range vals {
			if v == "" {
				continue
			}
			if g[j] == nil {
				g[j] = map[string]struct{}{}
			}
			g[j][v] = struct{}{}
		}
	}
	presences := make([]int, 0, len(groups))
	for p := range groups {
		presences = append(presences, p)
	}
	slices.Sort(presences)
	sets := make([][]*labels.Matcher, 0, len(groups))
	for _, p := range presences {
		g := groups[p]
		ms := make([]*labels.Matcher, 0, len(identifyingLabels))
		for j, name := range identifyingLabels {
			if p&(1<<(len(identifyingLabels)-1-j)) == 0 {
				ms = append(ms, labels.MustNewMatcher(labels.MatchEqual, name, ""))
				continue
			}
			vals := make([]string, 0, len(g[j]))
			for v := range g[j] {
				vals = append(vals, regexp.QuoteMeta(v))
			}
			slices.Sort(vals)
			ms = append(ms, labels.MustNewMatcher(labels.MatchRegexp, name, strings.Join(vals, "|")))
		}
		sets = append(sets, ms)
	}
	return sets
}

// infoSignature identifies, for an info metric name, the instance and job
// a series belongs to.
func infoSignature(name string, l labels.Labels) string {
	b := labels.NewScratchBuilder(3)
	b.Add(labels.MetricName, name)
	l.MatchLabels(true, identifyingLabels[:]...).Range(func(lb labels.Label) { b.Add(lb.Name, lb.Value) })
	b.Sort()
	return string(b.Labels().Bytes(nil))
}

// combineWithInfo joins every input series with the info series of its
// instance and job, step by step.
func (ev *evaluator) combineWithInfo(base, infos Matrix, ignored []bool, dataMatchers map[string][]*labels.Matcher) (Matrix, error) {
	var infoNames []string
	for _, s := range infos {
		if n := s.Metric.Get(labels.MetricName); !slices.Contains(infoNames, n) {
			infoNames = append(infoNames, n)
		}
	}
	baseSigs := make([][]string, len(base))
	for i, s := range base {
		baseSigs[i] = make([]string, len(infoNames))
		for j, n := range infoNames {
			baseSigs[i][j] = infoSignature(n, s.Metric)
		}
	}
	infoSigs := make([]string, len(infos))
	for i, s := range infos {
		infoSigs[i] = infoSignature(s.Metric.Get(labels.MetricName), s.Metric)
	}
	allMatchEmpty := true
	for _, ms := range dataMatchers {
		for _, m := range ms {
			allMatchEmpty = allMatchEmpty && m.Matches("")
		}
	}
	bv, iv := newStepView(base), newStepView(infos)
	out := newOutputSet(ev.steps, ev.arena)
	bySig := map[string]int{} // info series per signature at this step
	for k := range ev.steps {
		ts := ev.ts(k)
		clear(bySig)
		for i := range infos {
			f, _, ok := iv.at(i, ts)
			if !ok {
				continue
			}
			sig := infoSigs[i]
			if j, exists := bySig[sig]; exists {
				existing := int64(iv.m[j].Floats[iv.fi[j]-1].F)
				switch origT := int64(f); {
				case existing > origT:
					continue
				case existing == origT:
					return nil, fmt.Errorf("found duplicate series for info metric: existing %s @ %d, new %s @ %d",
						infos[j].Metric, existing, infos[i].Metric, origT)
				}
			}
			bySig[sig] = i
		}
		for i := range base {
			f, h, ok := bv.at(i, ts)
			if !ok {
				continue
			}
			metric := base[i].Metric
			if !ignored[i] {
				var err error
				metric, ok, err = joinInfoLabels(base[i].Metric, baseSigs[i], bySig, infos, dataMatchers, allMatchEmpty)
				if err != nil {
					return nil, err
				}
				if !ok {
					continue
				}
			}
			if err := out.addSample(metric, base[i].dropName, k, ts, f, h); err != nil {
				return nil, err
			}
		}
	}
	return out.result(), nil
}

// joinInfoLabels adds to base the labels of its matching info series;
// ok=false drops the sample (no info series while the data matchers need
// one).
func joinInfoLabels(base labels.Labels, sigs []string, bySig map[string]int, infos Matrix, dataMatchers map[string][]*labels.Matcher, allMatchEmpty bool) (labels.Labels, bool, error) {
	add := labels.NewBuilder(labels.EmptyLabels())
	seen := 0
	for _, sig := range sigs {
		j, ok := bySig[sig]
		if !ok {
			continue
		}
		seen++
		err := infos[j].Metric.Validate(func(l labels.Label) error {
			if l.Name == labels.MetricName {
				return nil
			}
			if _, wanted := dataMatchers[l.Name]; len(dataMatchers) > 0 && !wanted {
				return nil
			}
			if v := add.Get(l.Name); v != "" && v != l.Value {
				return fmt.Errorf("conflicting label: %s", l.Name)
			}
			if base.Has(l.Name) {
				return nil
			}
			add.Set(l.Name, l.Value)
			return nil
		})
		if err != nil {
			return labels.EmptyLabels(), false, err
		}
	}
	if seen == 0 && !allMatchEmpty {
		return labels.EmptyLabels(), false, nil
	}
	b := labels.NewBuilder(base)
	add.Labels().Range(func(l labels.Label) { b.Set(l.Name, l.Value) })
	return b.Labels(), true, nil
}
