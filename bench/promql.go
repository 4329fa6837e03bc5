package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	prom "github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	promstorage "github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/tsdb/tsdbutil"

	"github.com/graftlabs/graft/pkg/promql"
	"github.com/graftlabs/graft/pkg/promql/promcompat"
	"github.com/graftlabs/graft/pkg/storage"
	graftdb "github.com/graftlabs/graft/pkg/storage/tsdb"
	"github.com/graftlabs/graft/pkg/storage/tsdb/wal"
)

// The promql suite times Graft's engine and Prometheus's promql.Engine on
// the same queries over identical data, each on its own storage: the data is
// written once into Graft's TSDB (pkg/storage/tsdb) and once into
// Prometheus's, and each database then compacts its head into blocks with
// its own compaction (Graft's Maintain, Prometheus's Compact, as
// Prometheus's own benchmark does), leaving the newest hours in the head.
// These are the "promql/..." rows: each engine on its production storage.
// The "promql-same-storage/..." rows run Graft's engine on that very
// Prometheus TSDB (through promcompat.FromPrometheus, a thin adapter that
// only costs Graft): the engines alone. Each query runs alternately on the
// engines; rows report the median time and the mean bytes allocated per
// query (both engines hand their result's memory back, Graft with
// Result.Close, Prometheus with Query.Close).
//
// Queries: those of Prometheus's promql/bench_test.go (BenchmarkRangeQuery,
// over its a_X, b_X, h_X and sparse series, X being one, ten or hundred)
// and dashboard queries over a week of web-service metrics.

func init() { register("promql", runPromQLSuite) }

// promqlScale sizes the suite.
type promqlScale struct {
	intervals    int           // 10s intervals of the bench_test data
	steps        []int         // step counts (bench_test's 1 and 1000)
	bigSteps     int           // bench_test's 10000-step cases
	sizes        []string      // which X
	dashDays     int           // days of dashboard data (scraped every 60s)
	nhSeries     int           // native histogram series of each kind
	budget       time.Duration // per engine and query
	minRuns      int
	skipLongRate bool // the [1d] cases need a day of data
}

func scaleFor(quick bool) promqlScale {
	if quick {
		return promqlScale{
			intervals: 2000, steps: []int{1, 1000}, bigSteps: 1000, sizes: []string{"one", "hundred"},
			dashDays: 1, nhSeries: 50, budget: 60 * time.Millisecond, minRuns: 2, skipLongRate: true,
		}
	}
	return promqlScale{
		intervals: 8640 + 10000, steps: []int{1, 1000}, bigSteps: 10000, sizes: []string{"one", "ten", "hundred"},
		dashDays: 7, nhSeries: 300, budget: time.Second, minRuns: 3,
	}
}

func runPromQLSuite(ctx context.Context, opts Options) ([]Result, error) {
	sc := scaleFor(opts.Quick)
	fmt.Fprintf(opts.Log, "promql: loading bench_test data (%d intervals)\n", sc.intervals)
	data, err := newBenchData(filepath.Join(opts.Dir, "promql-range"))
	if err != nil {
		return nil, err
	}
	defer data.close()
	if err := loadRangeQueryData(ctx, data, sc.intervals); err != nil {
		return nil, fmt.Errorf("loading data: %w", err)
	}
	if err := data.compact(ctx); err != nil {
		return nil, err
	}
	var results []Result
	b := newEngineBench(data, sc, opts.Log)
	for _, c := range rangeQueryCases(sc) {
		end := time.UnixMilli(int64(sc.intervals) * 10_000)
		start := end.Add(-time.Duration(c.steps-1) * 10 * time.Second)
		rows, err := b.compare(ctx, fmt.Sprintf("%s/steps=%d", c.expr, c.steps), c.expr, start, end, 10*time.Second)
		if err != nil {
			return nil, err
		}
		results = append(results, rows...)
	}
	data.close()

	// The dashboard data lives apart: a TSDB head only takes samples close
	// to its newest.
	fmt.Fprintf(opts.Log, "promql: loading %d days of dashboard data\n", sc.dashDays)
	dash, err := newBenchData(filepath.Join(opts.Dir, "promql-dashboards"))
	if err != nil {
		return nil, err
	}
	defer dash.close()
	dashEnd := int64(sc.dashDays) * 24 * 3600 * 1000
	if err := loadDashboardData(ctx, dash, dashEnd, sc.dashDays); err != nil {
		return nil, fmt.Errorf("loading dashboard data: %w", err)
	}
	if err := dash.compact(ctx); err != nil {
		return nil, err
	}
	b = newEngineBench(dash, sc, opts.Log)
	for _, c := range dashboardCases(sc.dashDays) {
		end := time.UnixMilli(dashEnd)
		start := end.Add(-time.Duration(sc.dashDays) * 24 * time.Hour)
		rows, err := b.compare(ctx, "dashboard/"+c.name, c.expr, start, end, c.step)
		if err != nil {
			return nil, err
		}
		results = append(results, rows...)
	}
	dash.close()

	fmt.Fprintf(opts.Log, "promql: loading native histograms (%d series of each kind)\n", sc.nhSeries)
	nh, err := newBenchData(filepath.Join(opts.Dir, "promql-native-histograms"))
	if err != nil {
		return nil, err
	}
	defer nh.close()
	if err := loadNativeHistogramData(ctx, nh, sc.nhSeries); err != nil {
		return nil, fmt.Errorf("loading native histograms: %w", err)
	}
	if err := nh.compact(ctx); err != nil {
		return nil, err
	}
	b = newEngineBench(nh, sc, opts.Log)
	for _, c := range nativeHistogramCases() {
		rows, err := b.compare(ctx, "native_histograms/"+c.name, c.expr, time.Unix(0, 0), time.Unix(0, 0).Add(2*time.Hour), 30*time.Second)
		if err != nil {
			return nil, err
		}
		results = append(results, rows...)
	}
	logSummary(opts.Log, results)
	return results, nil
}

// benchData is one data set written into both databases.
type benchData struct {
	prom     *tsdb.DB
	graft    *graftdb.DB
	promApp  promstorage.Appender
	graftApp storage.Appender
	refs     map[string]seriesRefs
	closed   bool
}

type seriesRefs struct {
	prom  promstorage.SeriesRef
	graft storage.SeriesRef
}

func newBenchData(dir string) (*benchData, error) {
	o := tsdb.DefaultOptions()
	o.RetentionDuration = 0
	prom, err := tsdb.Open(filepath.Join(dir, "prometheus"), slog.New(slog.NewTextHandler(io.Discard, nil)), nil, o, nil)
	if err != nil {
		return nil, fmt.Errorf("opening Prometheus's TSDB: %w", err)
	}
	prom.DisableCompactions() // compacted once, after loading
	// Graft's defaults but two: its WAL is written, not fsynced, on commit
	// (Prometheus's behaviour), and maintenance runs only when called.
	graft, err := graftdb.Open(filepath.Join(dir, "graft"), graftdb.Options{
		Fsync:               wal.FsyncSegment,
		MaintenanceInterval: 1000 * time.Hour,
		Logger:              slog.New(slog.DiscardHandler),
	})
	if err != nil {
		_ = prom.Close()
		return nil, fmt.Errorf("opening Graft's TSDB: %w", err)
	}
	return &benchData{prom: prom, graft: graft, refs: map[string]seriesRefs{}}, nil
}

// compact cuts blocks from both heads and compacts them, each database
// with its own compaction, as it would on its schedule.
func (d *benchData) compact(ctx context.Context) error {
	if err := d.prom.Compact(ctx); err != nil {
		return fmt.Errorf("compacting Prometheus's TSDB: %w", err)
	}
	if err := d.graft.Maintain(ctx); err != nil {
		return fmt.Errorf("compacting Graft's TSDB: %w", err)
	}
	return nil
}

func (d *benchData) appenders(ctx context.Context) {
	if d.promApp == nil {
		d.promApp, d.graftApp = d.prom.Appender(ctx), d.graft.Appender(ctx)
	}
}

// append writes one sample to both databases; key names the series.
func (d *benchData) append(ctx context.Context, key string, lset labels.Labels, t int64, v float64) error {
	d.appenders(ctx)
	r := d.refs[key]
	var err error
	if r.prom, err = d.promApp.Append(r.prom, lset, t, v); err != nil {
		return err
	}
	if r.graft, err = d.graftApp.Append(r.graft, lset, t, v); err != nil {
		return err
	}
	d.refs[key] = r
	return nil
}

// appendHistogram writes one native histogram sample to both databases.
func (d *benchData) appendHistogram(ctx context.Context, key string, lset labels.Labels, t int64, h *histogram.Histogram) error {
	d.appenders(ctx)
	r := d.refs[key]
	var err error
	if r.prom, err = d.promApp.AppendHistogram(r.prom, lset, t, h.Copy(), nil); err != nil {
		return err
	}
	// Either appender may keep the pointer until Commit: each gets a copy.
	if r.graft, err = d.graftApp.AppendHistogram(r.graft, lset, t, h.Copy(), nil); err != nil {
		return err
	}
	d.refs[key] = r
	return nil
}

func (d *benchData) commit() error {
	if d.promApp == nil {
		return nil
	}
	err := errors.Join(d.promApp.Commit(), d.graftApp.Commit())
	d.promApp, d.graftApp = nil, nil
	return err
}

func (d *benchData) close() {
	if !d.closed {
		d.closed = true
		_ = d.prom.Close()
		_ = d.graft.Close()
	}
}

// loadRangeQueryData writes the series of Prometheus's BenchmarkRangeQuery:
// a_X and b_X floats and h_X classic histograms (eleven buckets) for X of
// one, ten and hundred series, plus a churning "sparse" series, every 10s.
func loadRangeQueryData(ctx context.Context, d *benchData, intervals int) error {
	var metrics []labels.Labels
	add := func(name string, kv ...string) {
		metrics = append(metrics, labels.FromStrings(append([]string{"__name__", name}, kv...)...))
	}
	add("a_one")
	add("b_one")
	for j := range 10 {
		add("h_one", "le", strconv.Itoa(j))
	}
	add("h_one", "le", "+Inf")
	for _, size := range []struct {
		name string
		n    int
	}{{"ten", 10}, {"hundred", 100}} {
		for i := range size.n {
			l := strconv.Itoa(i)
			add("a_"+size.name, "l", l)
			add("b_"+size.name, "l", l)
			for j := range 10 {
				add("h_"+size.name, "l", l, "le", strconv.Itoa(j))
			}
			add("h_"+size.name, "l", l, "le", "+Inf")
		}
	}
	keys := make([]string, len(metrics))
	for i, m := range metrics {
		keys[i] = m.String()
	}
	perSparse := max(intervals/50, 1)
	for s := range intervals {
		ts := int64(s) * 10_000
		for i, m := range metrics {
			if err := d.append(ctx, keys[i], m, ts, float64(s)+float64(i)/float64(len(metrics))); err != nil {
				return err
			}
		}
		sparse := labels.FromStrings("__name__", "sparse", "l", strconv.Itoa(s/perSparse))
		if err := d.append(ctx, sparse.String(), sparse, ts, float64(s)/float64(len(metrics))); err != nil {
			return err
		}
		if err := d.commit(); err != nil {
			return err
		}
	}
	return nil
}

// loadDashboardData writes days of web-service metrics scraped every minute
// up to end: request counters per job, instance and status, and request
// latency histograms per job and instance.
func loadDashboardData(ctx context.Context, d *benchData, end int64, days int) error {
	type series struct {
		lset     labels.Labels
		key      string
		v, speed float64
	}
	bounds := []string{"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"}
	var all []*series
	add := func(speed float64, kv ...string) {
		l := labels.FromStrings(kv...)
		all = append(all, &series{lset: l, key: l.String(), speed: speed})
	}
	for j := range 5 {
		job := "svc-" + strconv.Itoa(j)
		for i := range 10 {
			inst := fmt.Sprintf("10.0.%d.%d:8080", j, i)
			for _, status := range []string{"200", "404", "500", "503"} {
				add(float64(1+(i*7+j)%13), "__name__", "http_requests_total", "job", job, "instance", inst, "status", status)
			}
			for k, le := range bounds {
				add(float64(k+1), "__name__", "http_request_duration_seconds_bucket", "job", job, "instance", inst, "le", le)
			}
		}
	}
	const interval = 60_000
	start := end - int64(days)*24*3600*1000
	for ts := start; ts <= end; ts += interval {
		for n, s := range all {
			s.v += s.speed * float64(1+(ts/interval+int64(n))%3)
			if err := d.append(ctx, s.key, s.lset, ts, s.v); err != nil {
				return err
			}
		}
		if err := d.commit(); err != nil {
			return err
		}
	}
	return nil
}

type benchCase struct {
	expr  string
	steps int
}

// rangeQueryCases are the cases of Prometheus's BenchmarkRangeQuery.
func rangeQueryCases(sc promqlScale) []benchCase {
	exprs := []struct {
		expr  string
		big   bool // a 10000-step case only
		daily bool // reads a day of history
	}{
		{expr: "a_X"},
		{expr: "rate(a_X[1m])"},
		{expr: "rate(a_X[1m])", big: true},
		{expr: "rate(sparse[1m])", big: true},
		{expr: "rate(a_X[1m] smoothed)"},
		{expr: "rate(a_X[1m] smoothed)", big: true},
		{expr: "rate(sparse[1m] smoothed)", big: true},
		{expr: "double_exponential_smoothing(a_X[1d], 0.3, 0.3)", daily: true},
		{expr: "changes(a_X[1d])", daily: true},
		{expr: "rate(a_X[1d])", daily: true},
		{expr: "absent_over_time(a_X[1d])", daily: true},
		{expr: "-a_X"},
		{expr: "a_X - b_X"},
		{expr: "a_X - b_X", big: true},
		{expr: "a_X and b_X{l=~'.*[0-4]$'}"},
		{expr: "a_X or b_X{l=~'.*[0-4]$'}"},
		{expr: "a_X unless b_X{l=~'.*[0-4]$'}"},
		{expr: "a_X and b_X{l='notfound'}"},
		{expr: "abs(a_X)"},
		{expr: "label_replace(a_X, 'l2', '$1', 'l', '(.*)')"},
		{expr: "label_join(a_X, 'l2', '-', 'l', 'l')"},
		{expr: "sum(a_X)"},
		{expr: "avg(a_X)"},
		{expr: "sum without (l)(h_X)"},
		{expr: "sum without (le)(h_X)"},
		{expr: "sum by (l)(h_X)"},
		{expr: "sum by (le)(h_X)"},
		{expr: "count_values('value', h_X)"},
		{expr: "topk(1, a_X)"},
		{expr: "topk(5, a_X)"},
		{expr: "limitk(1, a_X)"},
		{expr: "limitk(5, a_X)"},
		{expr: "limit_ratio(0.1, a_X)"},
		{expr: "limit_ratio(0.5, a_X)"},
		{expr: "limit_ratio(-0.5, a_X)"},
		{expr: "rate(a_X[1m]) + rate(b_X[1m])"},
		{expr: "sum without (l)(rate(a_X[1m]))"},
		{expr: "sum without (l)(rate(a_X[1m])) / sum without (l)(rate(b_X[1m]))"},
		{expr: "histogram_quantile(0.9, rate(h_X[5m]))"},
		{expr: "a_X + on(l) group_right a_one"},
		{expr: "count({__name__!=\"\"})", big: true},
		{expr: "count({__name__!=\"\",l=\"\"})", big: true},
		{expr: "timestamp(a_X)"},
	}
	var out []benchCase
	for _, e := range exprs {
		if e.daily && sc.skipLongRate {
			continue
		}
		var variants []string
		if strings.Contains(e.expr, "X") {
			for _, size := range sc.sizes {
				variants = append(variants, strings.ReplaceAll(e.expr, "X", size))
			}
		} else {
			variants = []string{e.expr}
		}
		for _, v := range variants {
			switch {
			case strings.HasPrefix(v, "count({"):
				out = append(out, benchCase{v, 1}) // bench_test runs these at one step
			case strings.HasPrefix(v, "count_values"):
				out = append(out, benchCase{v, 100})
			case e.big:
				out = append(out, benchCase{v, sc.bigSteps})
			default:
				for _, s := range sc.steps {
					out = append(out, benchCase{v, s})
				}
			}
		}
	}
	return out
}

type dashboardCase struct {
	name, expr string
	step       time.Duration
}

// dashboardCases are typical panel queries over the whole dashboard range
// at a one-minute step ($__rate_interval is four scrape intervals).
func dashboardCases(days int) []dashboardCase {
	span := fmt.Sprintf("%dd", days)
	return []dashboardCase{
		{"rate_by_job_" + span, `sum by (job) (rate(http_requests_total[4m]))`, time.Minute},
		{"error_ratio_" + span, `sum by (job) (rate(http_requests_total{status=~"5.."}[4m])) / sum by (job) (rate(http_requests_total[4m]))`, time.Minute},
		{"p99_latency_" + span, `histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))`, time.Minute},
		{"p99_latency_by_job_" + span, `histogram_quantile(0.99, sum by (job, le) (rate(http_request_duration_seconds_bucket[5m])))`, time.Minute},
		{"top5_instances_" + span, `topk(5, sum by (instance) (rate(http_requests_total[4m])))`, time.Minute},
	}
}

// loadNativeHistogramData writes the series of Prometheus's
// BenchmarkNativeHistograms and BenchmarkNativeHistogramsCustomBuckets
// (fewer of them: n of each kind instead of 3,000), a histogram every 15s
// for two and a half hours.
func loadNativeHistogramData(ctx context.Context, d *benchData, n int) error {
	const samples = 600
	type series struct {
		lset labels.Labels
		key  string
		hs   []*histogram.Histogram
	}
	var all []series
	for _, kind := range []struct {
		name string
		gen  func(int) []*histogram.Histogram
	}{
		{"native_histogram_series", tsdbutil.GenerateTestHistograms},
		{"native_histogram_custom_bucket_series", tsdbutil.GenerateTestCustomBucketsHistograms},
	} {
		hs := kind.gen(samples)
		for sid := range n {
			lset := labels.FromStrings("__name__", kind.name, "foo", "bar", "h", strconv.Itoa(sid))
			all = append(all, series{lset, lset.String(), hs})
		}
	}
	// In time order: a TSDB head takes only samples near its newest.
	for i := range samples {
		for _, s := range all {
			if err := d.appendHistogram(ctx, s.key, s.lset, int64(i)*15_000, s.hs[i]); err != nil {
				return err
			}
		}
		if err := d.commit(); err != nil {
			return err
		}
	}
	return nil
}

type nativeHistogramCase struct{ name, expr string }

// nativeHistogramCases are the queries of BenchmarkNativeHistograms, over
// exponential and custom buckets.
func nativeHistogramCases() []nativeHistogramCase {
	var out []nativeHistogramCase
	for _, kind := range []struct{ short, metric string }{
		{"exponential", "native_histogram_series"},
		{"custom_buckets", "native_histogram_custom_bucket_series"},
	} {
		m := kind.metric
		for _, c := range []nativeHistogramCase{
			{"sum", "sum(" + m + ")"},
			{"sum_rate_2m", "sum(rate(" + m + "[2m]))"},
			{"sum_rate_20m", "sum(rate(" + m + "[20m]))"},
			{"histogram_count_sum_rate_2m", "histogram_count(sum(rate(" + m + "[2m])))"},
			{"histogram_count_sum_rate_20m", "histogram_count(sum(rate(" + m + "[20m])))"},
			{"count_plus_sum_2m", "histogram_count(sum(rate(" + m + "[2m]))) + histogram_sum(sum(rate(" + m + "[2m])))"},
			{"count_plus_sum_20m", "histogram_count(sum(rate(" + m + "[20m]))) + histogram_sum(sum(rate(" + m + "[20m])))"},
		} {
			out = append(out, nativeHistogramCase{kind.short + "/" + c.name, c.expr})
		}
	}
	return out
}

// engineBench runs queries on both engines.
type engineBench struct {
	data   *benchData
	graft  *promql.Engine
	onProm storage.Queryable // Prometheus's TSDB, for Graft's engine
	prom   *prom.Engine
	sc     promqlScale
	log    io.Writer
}

func newEngineBench(data *benchData, sc promqlScale, log io.Writer) *engineBench {
	return &engineBench{
		data:   data,
		graft:  promql.NewEngine(promql.EngineOpts{MaxSamples: 50_000_000, Timeout: 100 * time.Second}),
		onProm: promcompat.FromPrometheus(data.prom),
		prom: prom.NewEngine(prom.EngineOpts{
			MaxSamples:           50_000_000,
			Timeout:              100 * time.Second,
			EnableAtModifier:     true,
			EnableNegativeOffset: true,
			Parser:               parser.NewParser(promql.AllFeatures),
		}),
		sc:  sc,
		log: log,
	}
}

// measurement is the mean cost of a query over a batch of runs.
type measurement struct {
	dur   time.Duration // per run
	bytes float64       // allocated per run
}

// runner runs a query once.
type runner func() error

func (b *engineBench) graftRunner(ctx context.Context, st storage.Queryable, q string, start, end time.Time, step time.Duration) runner {
	return func() error {
		qry, err := b.graft.NewRangeQuery(st, q, start, end, step, promql.QueryOpts{})
		if err != nil {
			return err
		}
		res, err := qry.Exec(ctx)
		if err != nil {
			return err
		}
		res.Close() // as Prometheus's query.Close returns its points to a pool
		return nil
	}
}

func (b *engineBench) promRunner(ctx context.Context, q string, start, end time.Time, step time.Duration) runner {
	return func() error {
		qry, err := b.prom.NewRangeQuery(ctx, b.data.prom, nil, q, start, end, step)
		if err != nil {
			return err
		}
		defer qry.Close()
		return qry.Exec(ctx).Err
	}
}

// batch runs r n times and measures the mean time and bytes allocated (by
// all goroutines: the engines may use several). Memory statistics are read
// outside the timed loop: reading them stops the world.
func batch(r runner, n int) (measurement, error) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	t0 := time.Now()
	for range n {
		if err := r(); err != nil {
			return measurement{}, err
		}
	}
	d := time.Since(t0)
	runtime.ReadMemStats(&after)
	return measurement{dur: d / time.Duration(n), bytes: float64(after.TotalAlloc-before.TotalAlloc) / float64(n)}, nil
}

// batchSize is how many runs of a query take about target.
func batchSize(r runner, target time.Duration) (int, error) {
	t0 := time.Now()
	if err := r(); err != nil {
		return 0, err
	}
	one := max(time.Since(t0), time.Microsecond)
	return int(min(max(target/one, 1), 10000)), nil
}

// compare runs a query on Graft (over its TSDB and over Prometheus's) and
// on Prometheus, batch after batch in turn within the time budget, and
// returns its rows.
func (b *engineBench) compare(ctx context.Context, name, q string, start, end time.Time, step time.Duration) ([]Result, error) {
	runners := []runner{
		b.graftRunner(ctx, b.data.graft, q, start, end, step),
		b.graftRunner(ctx, b.onProm, q, start, end, step),
		b.promRunner(ctx, q, start, end, step),
	}
	names := []string{"Graft", "Graft over Prometheus's TSDB", "Prometheus"}
	sizes := make([]int, len(runners))
	for i, r := range runners {
		n, err := batchSize(r, b.sc.budget/10) // also a warm-up run
		if err != nil {
			return nil, fmt.Errorf("%s on %s: %w", q, names[i], err)
		}
		sizes[i] = n
	}
	got := make([][]measurement, len(runners))
	deadline := time.Now().Add(3 * b.sc.budget)
	for round := 0; round < b.sc.minRuns || (time.Now().Before(deadline) && round < 100); round++ {
		for i, r := range runners {
			m, err := batch(r, sizes[i])
			if err != nil {
				return nil, fmt.Errorf("%s on %s: %w", q, names[i], err)
			}
			got[i] = append(got[i], m)
		}
	}
	g, gt, p := got[0], got[1], got[2]
	fmt.Fprintf(b.log, "%-72s %8.3fms %8.3fms  x%6.2f  %7.3fMB %7.3fMB | same storage x%5.2f\n", name,
		ms(medianDuration(g)), ms(medianDuration(p)), ms(medianDuration(p))/ms(medianDuration(g)),
		meanBytes(g)/1e6, meanBytes(p)/1e6, ms(medianDuration(p))/ms(medianDuration(gt)))
	return []Result{
		{Name: "promql/" + name, Unit: "ms/query", Graft: ms(medianDuration(g)), Prometheus: ms(medianDuration(p)), Better: "lower"},
		{Name: "promql/" + name, Unit: "MB/query", Graft: meanBytes(g) / 1e6, Prometheus: meanBytes(p) / 1e6, Better: "lower"},
		{Name: "promql-same-storage/" + name, Unit: "ms/query", Graft: ms(medianDuration(gt)), Prometheus: ms(medianDuration(p)), Better: "lower"},
		{Name: "promql-same-storage/" + name, Unit: "MB/query", Graft: meanBytes(gt) / 1e6, Prometheus: meanBytes(p) / 1e6, Better: "lower"},
	}, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func medianDuration(ms []measurement) time.Duration {
	ds := make([]time.Duration, len(ms))
	for i, m := range ms {
		ds[i] = m.dur
	}
	slices.Sort(ds)
	return ds[len(ds)/2]
}

func meanBytes(ms []measurement) float64 {
	var sum float64
	for _, m := range ms {
		sum += m.bytes
	}
	return sum / float64(len(ms))
}

// logSummary reports, per comparison, the median speedup, the slowest case
// and how many queries use more memory than Prometheus.
func logSummary(w io.Writer, rows []Result) {
	for _, prefix := range []string{"promql/", "promql-same-storage/"} {
		var speedups []float64
		slowest, worst := "", math.Inf(1)
		moreMem := 0
		for _, r := range rows {
			if !strings.HasPrefix(r.Name, prefix) {
				continue
			}
			switch r.Unit {
			case "ms/query":
				s := r.Prometheus / r.Graft
				speedups = append(speedups, s)
				if s < worst {
					worst, slowest = s, r.Name
				}
			case "MB/query":
				if r.Graft > r.Prometheus {
					moreMem++
				}
			}
		}
		if len(speedups) == 0 {
			continue
		}
		slices.Sort(speedups)
		fmt.Fprintf(w, "%s: %d queries, median speedup x%.2f, smallest x%.2f (%s), %d use more memory than Prometheus\n",
			strings.TrimSuffix(prefix, "/"), len(speedups), speedups[len(speedups)/2], worst, slowest, moreMem)
	}
}
