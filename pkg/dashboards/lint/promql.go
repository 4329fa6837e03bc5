package lint

import (
	"regexp"

	"github.com/prometheus/prometheus/promql/parser"
)

// Grafana's global interval variables stand where PromQL expects a
// duration; before parsing they are replaced by a duration, as Grafana
// would. Other variables only appear inside label matcher strings.
var (
	intervalVar = regexp.MustCompile(`\$\{?__(rate_interval|interval|range)(_ms|_s)?\}?`)
	// rateIntervalStandIn is a duration no panel writes by hand, so a range
	// equal to it was $__rate_interval.
	rateIntervalStandIn = "4m37s"
)

// ParsePromQL parses a panel or rule expression with Prometheus's parser,
// after replacing Grafana's interval variables.
func ParsePromQL(expr string) (parser.Expr, error) {
	e := intervalVar.ReplaceAllStringFunc(expr, func(v string) string {
		if regexp.MustCompile(`rate_interval`).MatchString(v) {
			return rateIntervalStandIn
		}
		return "5m"
	})
	return parser.NewParser(parser.Options{}).ParseExpr(e)
}
