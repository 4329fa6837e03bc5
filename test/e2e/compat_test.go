package e2e

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// An independent check of Graft's PromQL engine and storage against a real
// Prometheus (Debian's package): the same samples go into both by remote
// write, and both HTTP APIs must give the same answers to a corpus of
// queries (compat_queries_test.go) at several instants and over several
// ranges, and to the metadata endpoints.
func TestPromQLCompatibilityWithPrometheus(t *testing.T) {
	prom := startPrometheusReceiver(t)
	data := t.TempDir()
	graft, cmd, _ := startServer(t, writeConfig(t, ""), "--web.enable-remote-write-receiver", "--storage.tsdb.path="+data)
	ds := newCompatDataset(time.Now())
	pushRemoteWrite(t, prom, ds)
	pushRemoteWrite(t, graft, ds)
	t.Logf("%d series, %d samples from %s", len(ds.series), ds.sampleCount(), ds.base.Format(time.RFC3339))

	c := &compatRun{t: t, prom: prom, graft: graft, ds: ds, nonEmpty: map[string]bool{}}
	c.evalList = c.evals()
	c.checkRawSamples()
	for _, q := range compatQueries {
		c.checkQuery(q)
	}
	c.checkMetadata()
	c.checkNonTrivial()

	// Again after a restart: the head rebuilt from the WAL's checkpoint
	// written on shutdown must hold the same samples.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("Graft did not stop cleanly: %v", err)
	}
	c.graft, _, _ = startServer(t, writeConfig(t, ""), "--storage.tsdb.path="+data)
	c.checkRawSamples()
	c.checkMetadata()
}

// compatRun compares the two servers and collects what it found.
type compatRun struct {
	t           *testing.T
	prom, graft string
	ds          *compatDataset
	evalList    []compatEval
	nonEmpty    map[string]bool // queries that returned data somewhere
	compared    int
	mismatches  int
}

// compatEval is one way of evaluating a query: an instant or a range.
type compatEval struct {
	name   string
	path   string
	params url.Values
}

// evals are the instants and ranges every query runs at. Their times are
// whole seconds that never fall on a subquery step (see compatDataset.at).
func (c *compatRun) evals() []compatEval {
	ds := c.ds
	var out []compatEval
	for _, off := range []time.Duration{3*time.Minute + 7*time.Second, 25*time.Minute + 37*time.Second,
		37*time.Minute + 7*time.Second, 54*time.Minute + 59*time.Second, 58*time.Minute + 7*time.Second} {
		out = append(out, compatEval{name: "instant at +" + off.String(), path: "/api/v1/query",
			params: url.Values{"time": {strconv.FormatInt(ds.t(off), 10)}}})
	}
	// Exactly on a sample of the first series: the right edge of ranges
	// and lookback is closed in both versions. (The jitter keeps the left
	// edges off every sample of the data set.)
	onSample := ds.series[0].Samples[100].Timestamp
	out = append(out, compatEval{name: "instant on a sample", path: "/api/v1/query",
		params: url.Values{"time": {strconv.FormatFloat(float64(onSample)/1000, 'f', 3, 64)}}})
	// The second range is written the other way Prometheus's API takes
	// times and durations: RFC 3339 and a duration string.
	for i, r := range []struct{ start, end, step time.Duration }{
		{7 * time.Second, 60*time.Minute + 7*time.Second, time.Minute},
		{10*time.Minute + 3*time.Second, 50 * time.Minute, 37500 * time.Millisecond},
		{-10*time.Minute + 7*time.Second, 70*time.Minute + 7*time.Second, 5 * time.Minute},
	} {
		params := url.Values{"start": {strconv.FormatInt(ds.t(r.start), 10)}, "end": {strconv.FormatInt(ds.t(r.end), 10)},
			"step": {strconv.FormatFloat(r.step.Seconds(), 'f', -1, 64)}}
		if i == 1 {
			params = url.Values{"start": {ds.base.Add(r.start).UTC().Format(time.RFC3339Nano)},
				"end": {ds.base.Add(r.end).UTC().Format(time.RFC3339Nano)}, "step": {fmt.Sprintf("%dms", r.step.Milliseconds())}}
		}
		out = append(out, compatEval{name: fmt.Sprintf("range +%s..+%s step %s", r.start, r.end, r.step), path: "/api/v1/query_range", params: params})
	}
	return out
}

// expand fills in the query's placeholders for fixed times.
func (c *compatRun) expand(expr string) string {
	return strings.NewReplacer(
		"{{T20}}", strconv.FormatInt(c.ds.t(20*time.Minute+7*time.Second), 10),
		"{{T30}}", strconv.FormatInt(c.ds.t(30*time.Minute+7*time.Second), 10),
	).Replace(expr)
}

func (c *compatRun) checkQuery(q compatQuery) {
	expr := c.expand(q.expr)
	reason, known := knownDifferences[q.expr]
	for _, ev := range c.evalList {
		params := url.Values{"query": {expr}}
		for k, v := range ev.params {
			params[k] = v
		}
		p, g := c.get(ev.path, params)
		if !p.empty() && !g.empty() {
			c.nonEmpty[q.expr] = true
		}
		d := diffAnswers(p, g, compareOpts{ordered: isSortQuery(q.expr), labelOrder: ev.path == "/api/v1/query_range"})
		switch {
		case d == "":
			c.compared++
		case known:
			c.t.Logf("known difference (%s) in %s, %s: %s", reason, q.expr, ev.name, d)
		default:
			c.mismatches++
			c.t.Errorf("MISMATCH %s\n    %s: %s", q.expr, ev.name, d)
		}
	}
}

// get asks both servers.
func (c *compatRun) get(path string, params url.Values) (prom, graft *apiAnswer) {
	c.t.Helper()
	prom, err := apiGet(c.prom, path, params)
	if err != nil {
		c.t.Fatalf("Prometheus %s %v: %v", path, params, err)
	}
	graft, err = apiGet(c.graft, path, params)
	if err != nil {
		c.t.Fatalf("Graft %s %v: %v", path, params, err)
	}
	return prom, graft
}

// checkRawSamples compares every stored sample bit for bit: what the
// queries read is the same data on both sides.
func (c *compatRun) checkRawSamples() {
	params := url.Values{"query": {`{__name__=~"compat_.+"}[2h]`}, "time": {strconv.FormatInt(c.ds.t(time.Hour), 10)}}
	p, g := c.get("/api/v1/query", params)
	if n := len(p.series); n != len(c.ds.series) {
		c.t.Fatalf("Prometheus holds %d series of the %d written (%s)", n, len(c.ds.series), p.errorMsg)
	}
	if d := diffAnswers(p, g, compareOpts{exact: true}); d != "" {
		c.t.Fatalf("raw samples differ: %s", d)
	}
}

// compatMetaCheck is one request to a metadata endpoint; name is what
// knownDifferences call it.
type compatMetaCheck struct {
	name   string
	path   string
	params url.Values
}

// metaChecks are the /series, /labels and /label/<name>/values requests
// compared, over all time and over a window after some series ended.
func (c *compatRun) metaChecks() []compatMetaCheck {
	late := []string{"start", strconv.FormatInt(c.ds.t(45*time.Minute), 10), "end", strconv.FormatInt(c.ds.t(50*time.Minute), 10)}
	params := func(kv ...string) url.Values {
		out := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			out.Add(kv[i], kv[i+1])
		}
		return out
	}
	return []compatMetaCheck{
		{"all compat series", "/api/v1/series", params("match[]", `{__name__=~"compat_.+"}`)},
		{"two selectors' series", "/api/v1/series", params("match[]", `compat_up`, "match[]", `compat_temperature_celsius{room=~"k.*|a.*"}`)},
		{"api series, 45m to 50m", "/api/v1/series", params(append(late, "match[]", `{job="api"}`)...)},
		{"compat_temperature_celsius series, 45m to 50m", "/api/v1/series", params(append(late, "match[]", `compat_temperature_celsius`)...)},
		{"label names", "/api/v1/labels", nil},
		{"label names of compat_temperature_celsius", "/api/v1/labels", params("match[]", `compat_temperature_celsius`)},
		{"label names of batch, 45m to 50m", "/api/v1/labels", params(append(late, "match[]", `{job="batch"}`)...)},
		{"metric names", "/api/v1/label/__name__/values", nil},
		{"label values of job", "/api/v1/label/job/values", nil},
		{"label values of instance for compat_http_requests_total", "/api/v1/label/instance/values", params("match[]", `compat_http_requests_total`)},
		{"label values of instance for compat_http_requests_total, 45m to 50m", "/api/v1/label/instance/values",
			params(append(late, "match[]", `compat_http_requests_total`)...)},
		{"label values of room for compat_temperature_celsius, 45m to 50m", "/api/v1/label/room/values",
			params(append(late, "match[]", `{__name__=~"compat_temp.*"}`)...)},
		{"label values of path", "/api/v1/label/path/values", nil},
		{"label values of a label nobody has", "/api/v1/label/nonexistent/values", nil},
		{"series nothing matches", "/api/v1/series", params("match[]", `{__name__="compat_nonexistent"}`)},
		// Bad requests: the error types must agree.
		{"series without match[]", "/api/v1/series", nil},
		{"label values with a bad matcher", "/api/v1/label/job/values", params("match[]", `{job=}`)},
		{"query without an expression", "/api/v1/query", nil},
		{"query at a bad time", "/api/v1/query", params("query", "compat_up", "time", "yesterday")},
		{"query_range with a zero step", "/api/v1/query_range", params("query", "compat_up", "start", "0", "end", "60", "step", "0")},
		{"query_range ending before its start", "/api/v1/query_range", params("query", "compat_up", "start", "60", "end", "0", "step", "1")},
		{"query_range of too many points", "/api/v1/query_range", params("query", "compat_up", "start", "0", "end", "20000", "step", "1")},
		{"query_range without a step", "/api/v1/query_range", params("query", "compat_up", "start", "0", "end", "60")},
	}
}

// checkMetadata compares the metadata endpoints' answers.
func (c *compatRun) checkMetadata() {
	for _, ch := range c.metaChecks() {
		p, g := c.get(ch.path, ch.params)
		d := diffAnswers(p, g, compareOpts{})
		reason, known := knownDifferences[ch.name]
		switch {
		case d == "":
			c.compared++
		case known:
			c.t.Logf("known difference (%s) in %s: %s", reason, ch.name, d)
		default:
			c.mismatches++
			c.t.Errorf("MISMATCH %s (%s?%s): %s", ch.name, ch.path, ch.params.Encode(), d)
		}
	}
}

// checkNonTrivial fails the test when queries meant to return data
// returned none on either side: agreement on empty answers proves nothing.
func (c *compatRun) checkNonTrivial() {
	var empty []string
	for _, q := range compatQueries {
		if !q.mayBeEmpty && !c.nonEmpty[q.expr] {
			empty = append(empty, q.expr)
		}
	}
	if len(empty) > 0 {
		c.t.Errorf("%d queries returned no data anywhere (mark them mayBeEmpty if meant): %q", len(empty), empty)
	}
	c.t.Logf("%d queries: %d answers agreed, %d mismatches, %d queries with data", len(compatQueries), c.compared, c.mismatches, len(c.nonEmpty))
}
