package promql

import "github.com/prometheus/prometheus/promql/parser"

// Downsampled reads. A query may accept downsampled data up to a resolution
// (QueryOpts.MaxResolution). Storage then returns, per window, the
// aggregate that SelectHints.Func asks for: a counter series for rate and
// increase, the minimum for min_over_time, the maximum for max_over_time,
// the sum for sum_over_time, else the average. Each selector reads
// downsampled data only where its consumer gives a close answer from that
// aggregate, and only at a resolution that leaves it enough points.

// downsampledRangeFuncs are the functions of range vectors whose answer
// from the aggregate storage returns for them is close to the raw one.
// Left out: count_over_time (storage's count aggregate would be counted as
// points), quantile, stddev, stdvar, mad, first and last over time,
// changes, resets, irate and idelta (they need the raw samples'
// distribution or the last two of them), and histogram-only functions.
var downsampledRangeFuncs = map[string]bool{
	"rate": true, "increase": true, // the counter aggregate keeps increases and resets
	"min_over_time": true, "max_over_time": true, "sum_over_time": true, // exact per window
	"avg_over_time": true, "delta": true, "deriv": true, "predict_linear": true, // from window averages
	"present_over_time": true, "absent_over_time": true, // presence survives
}

// pointsPerRange is how many downsampled points a range selector's range
// must span at least: a window cut by the range's start counts samples
// from before it, so the resolution stays a small part of the range (as
// Thanos's automatic resolution, a fifth of the step).
const pointsPerRange = 5

// selectorResolution is the coarsest resolution (ms) a selector may read:
// 0 for raw samples only. fn is the function or aggregation it feeds
// (enclosingFunc). An instant selector reads at most the lookback delta's
// resolution, so that every step still finds a point within it.
func (p *plan) selectorResolution(vs *parser.VectorSelector, fn string, rangeMs int64) int64 {
	if p.maxRes <= 0 || vs.Anchored || vs.Smoothed {
		return 0
	}
	if rangeMs == 0 {
		return min(p.maxRes, p.lookback)
	}
	if !downsampledRangeFuncs[fn] {
		return 0
	}
	return min(p.maxRes, rangeMs/pointsPerRange)
}
