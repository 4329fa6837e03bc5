package plugin

import (
	"fmt"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// adhocFilter is one of Grafana's ad-hoc filters, as the frontend sends it.
type adhocFilter struct {
	Key      string `json:"key"`
	Operator string `json:"operator"`
	Value    string `json:"value"`
}

var adhocOperators = map[string]labels.MatchType{
	"=": labels.MatchEqual, "!=": labels.MatchNotEqual,
	"=~": labels.MatchRegexp, "!~": labels.MatchNotRegexp,
}

// applyAdhocFilters adds the filters as matchers to every selector of expr,
// as Grafana's Prometheus datasource does. A filter on a label the selector
// already matches replaces nothing: both matchers apply.
func applyAdhocFilters(expr string, filters []adhocFilter) (string, error) {
	if len(filters) == 0 {
		return expr, nil
	}
	ms := make([]*labels.Matcher, 0, len(filters))
	for _, f := range filters {
		typ, ok := adhocOperators[f.Operator]
		if !ok {
			return "", fmt.Errorf("ad-hoc filter on %q: unsupported operator %q", f.Key, f.Operator)
		}
		m, err := labels.NewMatcher(typ, f.Key, f.Value)
		if err != nil {
			return "", fmt.Errorf("ad-hoc filter on %q: %w", f.Key, err)
		}
		ms = append(ms, m)
	}
	node, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		return "", err
	}
	parser.Inspect(node, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			vs.LabelMatchers = append(vs.LabelMatchers, ms...)
		}
		return nil
	})
	return node.String(), nil
}
