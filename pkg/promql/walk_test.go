package promql

import (
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
)

// walkExpr must visit the nodes parser.Inspect visits, in the same order
// and at the same depths: planning relies on pre-order. (Inspect also
// calls its function with nil after each node's children, which the
// planner ignores.)
func TestWalkExprMatchesInspect(t *testing.T) {
	expr, err := parser.NewParser(AllFeatures).ParseExpr(
		`sum by (l) (rate(a[5m] offset 1m)) / on(l) group_left topk(2, -b @ 10) + count_values("v", max_over_time(c[10m:1m])) or info(d, {e="f"})`)
	if err != nil {
		t.Fatal(err)
	}
	type visit struct {
		node  parser.Node
		depth int
	}
	var want, got []visit
	parser.Inspect(expr, func(n parser.Node, path []parser.Node) error {
		if n != nil {
			want = append(want, visit{n, len(path)})
		}
		return nil
	})
	_ = walkExpr(expr, nil, func(n parser.Node, path []parser.Node) error {
		got = append(got, visit{n, len(path)})
		return nil
	})
	if len(got) != len(want) {
		t.Fatalf("visited %d nodes, parser.Inspect %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("visit %d: got %v at depth %d, want %v at depth %d", i, got[i].node, got[i].depth, want[i].node, want[i].depth)
		}
	}
}
