package e2e

// compatQuery is one query of the corpus. mayBeEmpty marks queries whose
// every answer may legitimately be empty (or an error); all others must
// return data at some evaluation, so that agreement is not trivial.
type compatQuery struct {
	expr       string
	mayBeEmpty bool
}

// knownDifferences are the queries where Graft deliberately answers
// otherwise than the Prometheus on this machine (Debian's 2.x), with the
// reason. They are evaluated on both servers but not compared. This is the
// one list of them.
var knownDifferences = map[string]string{
	// Prometheus 3 removed holt_winters (it became the experimental
	// double_exponential_smoothing); Graft follows Prometheus 3.
	`holt_winters(compat_temperature_celsius[10m], 0.5, 0.5)`: "holt_winters was removed in Prometheus 3",
	// When a range starts well before a counter's first sample, Prometheus
	// 2 extrapolates to the counter's zero point whenever that is within
	// 1.1 sample intervals; Prometheus 3 first caps the extrapolation at
	// half an interval and then takes the zero point only if nearer
	// (functions.go, extrapolatedRate). Graft does as Prometheus 3. The
	// data's counters start at 0, where both agree; these do not.
	`rate(compat_special[5m])`:            "rate extrapolation to the zero point changed in Prometheus 3",
	`rate(compat_cpu_seconds_total[5m:])`: "rate extrapolation to the zero point changed in Prometheus 3",
	// Prometheus 3 excludes the left edge of ranges and subqueries, and the
	// inner subquery's range ends exactly on a point of its 1m grid here
	// (5m outer steps). The data's samples never sit on an edge otherwise.
	`max_over_time(avg_over_time(compat_temperature_celsius[5m:1m])[15m:5m])`: "ranges are left-open in Prometheus 3",
	// Prometheus 3 drops the metric name for atan2 as for the other
	// arithmetic operators; Prometheus 2 kept it.
	`compat_ratio atan2 0.5`: "atan2 drops the metric name in Prometheus 3",
	// Prometheus 3's Kahan summation keeps an infinite sum infinite;
	// Prometheus 2's compensation term turned it into NaN (here the
	// squares of 1e300 overflow).
	`stddev_over_time(compat_special[5m])`: "Kahan summation of infinities changed in Prometheus 3",
	// Prometheus 3 accepts any UTF-8 label name.
	`label_replace(compat_up, "invalid-name", "x", "job", ".*")`: "UTF-8 label names are valid in Prometheus 3",
	// Prometheus answers label names and values from its head for every
	// series in it that matches, whatever the time range (it checks time
	// per block only); Graft only names series with samples in the range.
	// /series checks samples in both.
	"label values of instance for compat_http_requests_total, 45m to 50m": "Prometheus's head ignores the time range",
	"label values of room for compat_temperature_celsius, 45m to 50m":     "Prometheus's head ignores the time range",
}

// The placeholders {{T20}} and {{T30}} stand for fixed times (Unix
// seconds) 20m7s and 30m7s after the data set's start, for @.
var compatQueries = []compatQuery{
	// Selectors, matchers, offset, @.
	{expr: `compat_http_requests_total`},
	{expr: `compat_http_requests_total{job="api"}`},
	{expr: `compat_http_requests_total{code=~"5.."}`},
	{expr: `compat_http_requests_total{code!~"2..", method!="POST"}`},
	{expr: `compat_http_requests_total{code=~"2..|5..", instance=~"a:.*"}`},
	{expr: `{__name__=~"compat_temp.*"}`},
	{expr: `{__name__=~"compat_.*", job="db"}`},
	{expr: `{__name__="compat_up", instance!~"a.*"}`},
	{expr: `compat_up{instance=~"a"}`, mayBeEmpty: true},
	{expr: `compat_label_edge{path=~".*cød.*"}`},
	{expr: `compat_temperature_celsius offset 10m`},
	{expr: `compat_temperature_celsius offset -5m`},
	{expr: `compat_temperature_celsius @ {{T20}}`},
	{expr: `compat_temperature_celsius @ {{T20}} offset 5m`},
	{expr: `compat_http_requests_total[2m]`},
	{expr: `compat_temperature_celsius[5m] offset 3m`},
	{expr: `compat_special[1m]`},
	{expr: `compat_nonexistent`, mayBeEmpty: true},
	{expr: `compat_special`},
	{expr: `compat_late_gauge`},
	{expr: `timestamp(compat_temperature_celsius)`},
	{expr: `timestamp(compat_up offset 5m)`},
	{expr: `timestamp(compat_up @ {{T20}})`},
	{expr: `compat_temperature_celsius @ end()`},
	{expr: `compat_temperature_celsius{room="attic"}`},
	{expr: `count(compat_temperature_celsius offset 1h)`, mayBeEmpty: true},

	// Counters and gauges over ranges.
	{expr: `rate(compat_http_requests_total[5m])`},
	{expr: `rate(compat_http_requests_total[1m])`},
	{expr: `irate(compat_http_requests_total[5m])`},
	{expr: `increase(compat_http_requests_total[10m])`},
	{expr: `increase(compat_http_requests_total[3m] offset 2m)`},
	{expr: `rate(compat_cpu_seconds_total[5m] @ {{T30}})`},
	{expr: `delta(compat_temperature_celsius[10m])`},
	{expr: `idelta(compat_temperature_celsius[5m])`},
	{expr: `deriv(compat_temperature_celsius[10m])`},
	{expr: `deriv(compat_memory_bytes[5m])`},
	{expr: `predict_linear(compat_temperature_celsius[10m], 600)`},
	{expr: `resets(compat_http_requests_total[30m])`},
	{expr: `changes(compat_queue_length[10m])`},
	{expr: `rate(compat_special[5m])`},
	{expr: `rate(compat_special{kind!~"huge|tiny"}[5m])`},
	{expr: `deriv(compat_special[5m])`},
	{expr: `delta(compat_special[5m])`},
	{expr: `sum by (job) (rate(compat_http_requests_total[5m]))`},
	{expr: `rate({__name__=~"compat_(http|cpu).*"}[5m])`},
	{expr: `rate(compat_cpu_seconds_total[5m] @ start())`},
	{expr: `rate(compat_cpu_seconds_total[15s])`, mayBeEmpty: true},
	{expr: `irate(compat_special[5m])`},
	{expr: `idelta(compat_special[5m])`},
	{expr: `changes(compat_special[10m])`},
	{expr: `resets(compat_special[10m])`},
	{expr: `increase(compat_request_duration_seconds_bucket[5m])`},
	{expr: `predict_linear(compat_memory_bytes[10m], 3600)`},

	// *_over_time.
	{expr: `avg_over_time(compat_temperature_celsius[10m])`},
	{expr: `min_over_time(compat_temperature_celsius[10m])`},
	{expr: `max_over_time(compat_temperature_celsius[10m])`},
	{expr: `sum_over_time(compat_queue_length[5m])`},
	{expr: `count_over_time(compat_temperature_celsius[10m])`},
	{expr: `count_over_time(compat_temperature_celsius[10m] @ {{T20}})`},
	{expr: `last_over_time(compat_temperature_celsius[10m])`},
	{expr: `present_over_time(compat_late_gauge[5m])`},
	{expr: `stddev_over_time(compat_temperature_celsius[10m])`},
	{expr: `stdvar_over_time(compat_queue_length[10m])`},
	{expr: `quantile_over_time(0.9, compat_temperature_celsius[10m])`},
	{expr: `quantile_over_time(0.5, compat_special[10m])`},
	{expr: `avg_over_time(compat_special[5m])`},
	{expr: `max_over_time(compat_special[10m])`},
	{expr: `min_over_time(compat_special[10m])`},
	{expr: `absent_over_time(compat_late_gauge[5m])`},
	{expr: `absent_over_time(compat_nonexistent{job="x"}[5m])`},
	{expr: `absent_over_time(compat_temperature_celsius{room="attic"}[1m])`},
	{expr: `present_over_time(compat_temperature_celsius{room="attic"}[1m])`},
	{expr: `last_over_time(compat_temperature_celsius{room="attic"}[10m])`},
	{expr: `quantile_over_time(0, compat_queue_length[5m])`},
	{expr: `quantile_over_time(1.5, compat_queue_length[5m])`},
	{expr: `stddev_over_time(compat_special[5m])`},
	{expr: `stddev_over_time(compat_special{kind!="huge"}[5m])`},

	// Classic histograms.
	{expr: `histogram_quantile(0.9, rate(compat_request_duration_seconds_bucket[5m]))`},
	{expr: `histogram_quantile(0.5, sum by (le) (rate(compat_request_duration_seconds_bucket[5m])))`},
	{expr: `histogram_quantile(0.99, sum by (job, le) (rate(compat_request_duration_seconds_bucket[10m])))`},
	{expr: `histogram_quantile(0, sum by (le) (rate(compat_request_duration_seconds_bucket[5m])))`},
	{expr: `histogram_quantile(1, sum by (le) (rate(compat_request_duration_seconds_bucket[5m])))`},
	{expr: `histogram_quantile(1.5, sum by (le) (rate(compat_request_duration_seconds_bucket[5m])))`},
	{expr: `histogram_quantile(-1, sum by (le) (rate(compat_request_duration_seconds_bucket[5m])))`},
	{expr: `histogram_quantile(0.5, compat_request_duration_seconds_bucket)`},
	{expr: `histogram_quantile(0.5, compat_request_duration_seconds_bucket{le!="+Inf"})`},
	{expr: `rate(compat_request_duration_seconds_sum[5m]) / rate(compat_request_duration_seconds_count[5m])`},

	// Aggregations.
	{expr: `sum(compat_http_requests_total)`},
	{expr: `sum by (job) (compat_http_requests_total)`},
	{expr: `sum without (instance, method) (compat_http_requests_total)`},
	{expr: `avg by (job) (compat_temperature_celsius)`},
	{expr: `min(compat_temperature_celsius)`},
	{expr: `max by (code) (compat_http_requests_total)`},
	{expr: `count by (code) (compat_http_requests_total)`},
	{expr: `stddev by (job) (compat_temperature_celsius)`},
	{expr: `stdvar(compat_cpu_seconds_total)`},
	{expr: `group by (job) (compat_http_requests_total)`},
	{expr: `topk(2, compat_temperature_celsius)`},
	{expr: `bottomk(1, compat_cpu_seconds_total)`},
	{expr: `topk by (job) (1, compat_cpu_seconds_total)`},
	{expr: `topk(3, compat_special)`},
	{expr: `bottomk(3, compat_special)`},
	{expr: `quantile(0.5, compat_temperature_celsius)`},
	{expr: `quantile by (job) (0.25, compat_cpu_seconds_total)`},
	{expr: `quantile(0.5, compat_special)`},
	{expr: `count_values("value", compat_queue_length)`},
	{expr: `count_values by (job) ("v", compat_up)`},
	{expr: `count_values("v", compat_special)`},
	{expr: `sum(compat_special)`},
	{expr: `max(compat_special)`},
	{expr: `min(compat_special)`},
	{expr: `avg(compat_special)`},
	{expr: `sum(compat_nonexistent)`, mayBeEmpty: true},
	{expr: `count(compat_nonexistent)`, mayBeEmpty: true},
	{expr: `topk(scalar(count(compat_up)) - 3, compat_temperature_celsius)`},
	{expr: `topk(0, compat_temperature_celsius)`, mayBeEmpty: true},
	{expr: `bottomk(2.7, compat_temperature_celsius)`},
	{expr: `topk(1e10, compat_up)`},
	{expr: `quantile(NaN, compat_temperature_celsius)`},
	{expr: `quantile(1.5, compat_temperature_celsius)`},
	{expr: `count_values("job", compat_up)`},
	{expr: `sum by (__name__) ({__name__=~"compat_(up|cpu.*)"})`},
	{expr: `count without (__name__) ({__name__=~"compat_(up|build_info)"})`},
	{expr: `max(sum by (job) (compat_cpu_seconds_total))`},
	{expr: `count(count by (job) (compat_up))`},
	{expr: `stddev(compat_special)`},
	{expr: `avg(compat_special{kind=~"huge|inf"})`},
	{expr: `sum(compat_special{kind="huge"}) * 1e10`},

	// Binary operators and vector matching.
	{expr: `compat_http_requests_total * on (job, instance) group_left compat_up`},
	{expr: `compat_http_requests_total * on (job, instance) group_left (version) compat_build_info`},
	{expr: `compat_up * on (job, instance) group_right compat_http_requests_total`},
	{expr: `compat_http_requests_total / on () group_left sum(compat_http_requests_total)`},
	{expr: `sum by (job) (compat_http_requests_total) / ignoring (job) group_left sum(compat_http_requests_total)`},
	{expr: `compat_http_requests_total{job="api"} - ignoring (code) compat_http_requests_total{job="api", code="200"}`, mayBeEmpty: true},
	{expr: `compat_http_requests_total - on (job) compat_up`, mayBeEmpty: true},
	{expr: `compat_cpu_seconds_total - compat_up`},
	{expr: `compat_cpu_seconds_total / ignoring (version) compat_build_info`},
	{expr: `compat_temperature_celsius > 20`},
	{expr: `compat_temperature_celsius > bool 20`},
	{expr: `20 < compat_temperature_celsius`},
	{expr: `(compat_temperature_celsius > 19) < 24`},
	{expr: `compat_temperature_celsius == bool compat_temperature_celsius`},
	{expr: `compat_up != bool 1`},
	{expr: `compat_memory_bytes / 1024 / 1024`},
	{expr: `2 ^ compat_queue_length`},
	{expr: `compat_queue_length % 3`},
	{expr: `-compat_temperature_celsius`},
	{expr: `compat_ratio atan2 0.5`},
	{expr: `compat_special / 0`},
	{expr: `compat_special * 0`},
	{expr: `compat_queue_length / 0`},
	{expr: `scalar(sum(compat_up)) * compat_queue_length`},
	{expr: `compat_http_requests_total * on (instance) group_left (job, version) compat_build_info`},
	{expr: `compat_special > 0`},
	{expr: `compat_special == bool compat_special`},
	{expr: `-compat_special`},
	{expr: `compat_special % 3`},
	{expr: `compat_special ^ 2`},
	{expr: `1 > bool 2`},
	{expr: `1 > 2`, mayBeEmpty: true},
	{expr: `sum without (code) (rate(compat_http_requests_total[5m])) > 0.1`},

	// Set operators.
	{expr: `compat_http_requests_total and on (job, instance) (compat_up == 1)`},
	{expr: `compat_http_requests_total or compat_temperature_celsius`},
	{expr: `compat_temperature_celsius unless on (room) compat_temperature_celsius{room="kitchen"}`},
	{expr: `compat_up or vector(0)`},
	{expr: `(compat_cpu_seconds_total and on (instance) (compat_up == 0)) or on (instance) compat_up`},
	{expr: `compat_http_requests_total unless compat_http_requests_total`, mayBeEmpty: true},
	{expr: `compat_up unless on (instance) compat_http_requests_total`},
	{expr: `vector(1) and on () compat_nonexistent`, mayBeEmpty: true},

	// Subqueries.
	{expr: `max_over_time(rate(compat_http_requests_total[1m])[10m:1m])`},
	{expr: `avg_over_time(compat_temperature_celsius[15m:30s])`},
	{expr: `rate(compat_cpu_seconds_total[5m:])`},
	{expr: `rate(compat_cpu_seconds_total[5m:] offset -5m)`},
	{expr: `min_over_time(sum by (job) (compat_temperature_celsius)[20m:2m] offset 5m)`},
	{expr: `max_over_time(deriv(compat_temperature_celsius[5m])[30m:1m] @ {{T30}})`},
	{expr: `sum_over_time((compat_up == bool 0)[30m:1m])`},
	{expr: `max_over_time(avg_over_time(compat_temperature_celsius[5m:1m])[15m:5m])`},
	{expr: `max_over_time(avg_over_time(compat_temperature_celsius[5m10s:1m])[15m:5m])`},
	{expr: `last_over_time(compat_late_gauge[10m:10s])`},
	{expr: `count_over_time(compat_special[10m:30s])`},
	{expr: `max_over_time(compat_up[1h:])`},
	{expr: `timestamp(compat_cpu_seconds_total)[10m:1m]`, mayBeEmpty: true},

	// Label functions.
	{expr: `label_replace(compat_up, "host", "$1", "instance", "([^:]+):.*")`},
	{expr: `label_replace(compat_up, "instance", "", "instance", ".*")`, mayBeEmpty: true},
	{expr: `label_replace(compat_temperature_celsius, "room", "x-$1", "room", "(k.*)")`},
	{expr: `label_replace(compat_up, "foo", "bar", "nonexistent", "")`},
	{expr: `label_replace(compat_up, "invalid-name", "x", "job", ".*")`, mayBeEmpty: true},
	{expr: `label_replace(compat_up, "", "x", "job", ".*")`, mayBeEmpty: true},
	{expr: `label_join(compat_up, "addr", "/", "job", "instance")`},
	{expr: `label_join(compat_up, "job", "", "nonexistent")`},

	// absent.
	{expr: `absent(compat_nonexistent)`},
	{expr: `absent(compat_nonexistent{job="x", instance=~"y"})`},
	{expr: `absent(compat_up)`, mayBeEmpty: true},
	{expr: `absent(compat_late_gauge)`},
	{expr: `absent(sum(compat_nonexistent))`},
	{expr: `absent(compat_nonexistent{job=~"x", instance="y"})`},

	// sort (the order is compared too).
	{expr: `sort(compat_temperature_celsius)`},
	{expr: `sort_desc(rate(compat_cpu_seconds_total[5m]))`},
	{expr: `sort(compat_special)`},
	{expr: `sort_desc(compat_special)`},

	// Time functions, scalars, literals.
	{expr: `time()`},
	{expr: `timestamp(compat_up)`},
	{expr: `hour()`},
	{expr: `minute(compat_batch_last_success_timestamp_seconds)`},
	{expr: `day_of_week()`},
	{expr: `day_of_month(compat_batch_last_success_timestamp_seconds)`},
	{expr: `day_of_year()`},
	{expr: `days_in_month()`},
	{expr: `month()`},
	{expr: `year(compat_batch_last_success_timestamp_seconds)`},
	{expr: `time() - compat_batch_last_success_timestamp_seconds`},
	{expr: `vector(time())`},
	{expr: `scalar(compat_up{instance="a:1"})`},
	{expr: `scalar(compat_up)`},
	{expr: `1 + 2 * 3`},
	{expr: `2 ^ 3 ^ 2`},
	{expr: `-1 % 0.3`},
	{expr: `0 / 0`},
	{expr: `-1 / 0`},
	{expr: `vector(1) + 1`},
	{expr: `scalar(vector(3)) * 2`},
	{expr: `NaN`},
	{expr: `-Inf`},
	{expr: `"a string"`},
	{expr: `pi()`},

	// Math functions.
	{expr: `abs(compat_ratio)`},
	{expr: `ceil(compat_temperature_celsius)`},
	{expr: `floor(compat_ratio)`},
	{expr: `round(compat_temperature_celsius, 0.5)`},
	{expr: `round(compat_ratio)`},
	{expr: `sqrt(compat_memory_bytes)`},
	{expr: `exp(compat_ratio)`},
	{expr: `ln(compat_memory_bytes)`},
	{expr: `log2(compat_queue_length)`},
	{expr: `log10(compat_special)`},
	{expr: `clamp(compat_temperature_celsius, 19, 22)`},
	{expr: `clamp_min(compat_ratio, 0)`},
	{expr: `clamp_max(compat_special, 1)`},
	{expr: `clamp(compat_up, 2, 1)`, mayBeEmpty: true},
	{expr: `sgn(compat_ratio)`},
	{expr: `sin(compat_ratio) + cos(compat_ratio) - tan(compat_ratio)`},
	{expr: `asin(compat_ratio)`},
	{expr: `deg(compat_ratio)`},
	{expr: `rad(compat_temperature_celsius)`},
	{expr: `sqrt(-1 * compat_queue_length)`},
	{expr: `exp(compat_special)`},
	{expr: `sgn(compat_special)`},
	{expr: `round(compat_special)`},
	{expr: `clamp(compat_special, -1, 1)`},
	{expr: `hour(compat_special)`},
	{expr: `timestamp(vector(1))`},

	// Errors: their types must agree.
	{expr: `rate(compat_up)`, mayBeEmpty: true},
	{expr: `sum(`, mayBeEmpty: true},
	{expr: `compat_up[5m][1m]`, mayBeEmpty: true},
	{expr: `compat_http_requests_total + on (job) compat_http_requests_total`, mayBeEmpty: true},
	{expr: `holt_winters(compat_temperature_celsius[10m], 0.5, 0.5)`, mayBeEmpty: true},
}
