package querycache

import (
	"github.com/graftlabs/graft/pkg/promql"
)

// dayMs is the length of the intervals results are cached in.
const dayMs = 24 * 60 * 60 * 1000

// queryKey names one grid of one query: the expression, the step and where
// the step points fall (start modulo step), so that every query with the
// same key evaluates at the same timestamps; and the per-query options,
// which change results (a new option joins the key by being a field).
type queryKey struct {
	expr  string
	step  int64
	phase int64
	opts  promql.QueryOpts
}

// entryKey is the unit of the cache: one query grid on one UTC day.
type entryKey struct {
	query queryKey
	day   int64
}

// span is a run of step points [from, to], both on the grid.
type span struct{ from, to int64 }

func newQueryKey(expr string, start, step int64, opts promql.QueryOpts) queryKey {
	return queryKey{expr: expr, step: step, phase: floorMod(start, step), opts: opts}
}

// lastPoint is the last step point at or before t of the grid starting at
// start, and false when t is before start.
func lastPoint(start, step, t int64) (int64, bool) {
	if t < start {
		return 0, false
	}
	return start + (t-start)/step*step, true
}

// daySpans cuts the step points of [start, last] at UTC day boundaries.
func daySpans(start, last, step int64) []span {
	var out []span
	for t := start; t <= last; {
		dayEnd := (floorDiv(t, dayMs)+1)*dayMs - 1
		to, _ := lastPoint(t, step, min(dayEnd, last))
		out = append(out, span{t, to})
		t = to + step
	}
	return out
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func floorMod(a, b int64) int64 { return a - floorDiv(a, b)*b }
