package monitoring

import (
	"fmt"

	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

// RecordingRule records the result of Expr as the series Record, named
// level:metric:operations.
type RecordingRule struct {
	Record string
	Expr   string
	Labels map[string]string
}

// PrometheusRule is the rule as a rule of a Prometheus rule file.
func (r RecordingRule) PrometheusRule() rulefmt.Rule {
	return rulefmt.Rule{Record: r.Record, Expr: r.Expr, Labels: r.Labels}
}

func (r RecordingRule) validate() error {
	if _, err := parser.NewParser(parser.Options{}).ParseExpr(r.Expr); err != nil {
		return fmt.Errorf("recording rule %s: %w", r.Record, err)
	}
	return nil
}
