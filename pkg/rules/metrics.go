package rules

import "github.com/prometheus/client_golang/prometheus"

// metrics are the rule manager's self-monitoring series, by rule group.
type metrics struct {
	evaluations *prometheus.CounterVec
	failures    *prometheus.CounterVec
	missed      *prometheus.CounterVec
	lastEval    *prometheus.GaugeVec
	duration    *prometheus.SummaryVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		evaluations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "graft_rule_evaluations_total", Help: "Rule evaluations.",
		}, []string{"rule_group"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "graft_rule_evaluation_failures_total", Help: "Rule evaluations that failed.",
		}, []string{"rule_group"}),
		missed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "graft_rule_group_iterations_missed_total", Help: "Group evaluations skipped because the previous one ran late.",
		}, []string{"rule_group"}),
		lastEval: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "graft_rule_group_last_evaluation_timestamp_seconds", Help: "Timestamp of the group's last evaluation.",
		}, []string{"rule_group"}),
		duration: prometheus.NewSummaryVec(prometheus.SummaryOpts{
			Name: "graft_rule_group_duration_seconds", Help: "Duration of group evaluations.",
			Objectives: map[float64]float64{0.5: 0.05, 0.9: 0.01, 0.99: 0.001},
		}, []string{"rule_group"}),
	}
	if reg != nil {
		reg.MustRegister(m.evaluations, m.failures, m.missed, m.lastEval, m.duration)
	}
	return m
}
