package remote

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	commonconfig "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"
	"github.com/prometheus/prometheus/prompb"
)

// testReceiver is a remote-write receiver on loopback that decodes what it
// gets and answers with the status its respond function picks.
type testReceiver struct {
	*httptest.Server
	mtx      sync.Mutex
	requests []*http.Request
	samples  map[string][]prompb.Sample // by series
	calls    int
	respond  func(call int, w http.ResponseWriter) bool // true: handled (an error)
	delay    time.Duration                              // before each answer, requests in parallel
}

func newTestReceiver(t *testing.T, respond func(call int, w http.ResponseWriter) bool) *testReceiver {
	r := &testReceiver{samples: map[string][]prompb.Sample{}, respond: respond}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.Close)
	return r
}

func (r *testReceiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	time.Sleep(r.delay)
	r.mtx.Lock()
	defer r.mtx.Unlock()
	r.calls++
	r.requests = append(r.requests, req)
	if r.respond != nil && r.respond(r.calls, w) {
		return
	}
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var wr prompb.WriteRequest
	if err := wr.Unmarshal(raw); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	for _, ts := range wr.Timeseries {
		key := labelsString(ts.Labels)
		r.samples[key] = append(r.samples[key], ts.Samples...)
	}
	w.WriteHeader(http.StatusNoContent)
}

func labelsString(ls []prompb.Label) string {
	var parts []string
	for _, l := range ls {
		parts = append(parts, l.Name+"="+l.Value)
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func (r *testReceiver) total() int {
	r.mtx.Lock()
	defer r.mtx.Unlock()
	n := 0
	for _, s := range r.samples {
		n += len(s)
	}
	return n
}

func (r *testReceiver) callCount() int {
	r.mtx.Lock()
	defer r.mtx.Unlock()
	return r.calls
}

func (r *testReceiver) waitTotal(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for r.total() < want {
		if time.Now().After(deadline) {
			t.Fatalf("receiver has %d samples after 10s, want %d", r.total(), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func endpointConfig(t *testing.T, rawURL string, mutate func(*promconfig.RemoteWriteConfig)) *promconfig.RemoteWriteConfig {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	c := promconfig.DefaultRemoteWriteConfig
	c.URL = &commonconfig.URL{URL: u}
	c.QueueConfig.BatchSendDeadline = model.Duration(20 * time.Millisecond)
	c.QueueConfig.MinBackoff = model.Duration(10 * time.Millisecond)
	c.QueueConfig.MaxBackoff = model.Duration(50 * time.Millisecond)
	if mutate != nil {
		mutate(&c)
	}
	return &c
}

func newTestWriter(t *testing.T, dir string, reg prometheus.Registerer, eps ...*promconfig.RemoteWriteConfig) *Writer {
	t.Helper()
	w := NewWriter(Options{Dir: dir, UserAgent: "Graft/test", Registerer: reg})
	if err := w.ApplyConfig(Config{Endpoints: eps, Sync: 2}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	return w
}

// forward hands n one-sample batches of series name to w, timestamps from
// t0 on, values i.
func forward(w *Writer, name string, t0, n int) {
	for i := range n {
		w.Forward(&Batch{Samples: []Sample{{Labels: labels.FromStrings("__name__", name), T: int64(t0 + i), V: float64(i)}}})
	}
}

func TestWriterSendsWithRemoteWrite10Headers(t *testing.T) {
	rcv := newTestReceiver(t, nil)
	ep := endpointConfig(t, rcv.URL+"/api/v1/write", func(c *promconfig.RemoteWriteConfig) {
		c.Name = "test"
		c.Headers = map[string]string{"X-Scope-OrgID": "tenant-1"}
		c.HTTPClientConfig.BasicAuth = &commonconfig.BasicAuth{Username: "user", Password: "s3cret"}
	})
	w := newTestWriter(t, t.TempDir(), nil, ep)
	if !w.Enabled() {
		t.Fatal("writer with an endpoint is not enabled")
	}
	forward(w, "m", 1000, 5)
	rcv.waitTotal(t, 5)
	rcv.mtx.Lock()
	h := rcv.requests[0].Header
	user, pass, _ := rcv.requests[0].BasicAuth()
	got := rcv.samples["{__name__=m}"]
	rcv.mtx.Unlock()
	for k, want := range map[string]string{
		"Content-Encoding":                  "snappy",
		"Content-Type":                      "application/x-protobuf",
		"X-Prometheus-Remote-Write-Version": "0.1.0",
		"User-Agent":                        "Graft/test",
		"X-Scope-OrgID":                     "tenant-1",
	} {
		if h.Get(k) != want {
			t.Errorf("header %s = %q, want %q", k, h.Get(k), want)
		}
	}
	if user != "user" || pass != "s3cret" {
		t.Errorf("basic auth %q %q", user, pass)
	}
	for i, s := range got {
		if s.Timestamp != int64(1000+i) || s.Value != float64(i) {
			t.Fatalf("sample %d = %+v: out of order or wrong", i, s)
		}
	}
	waitStatus(t, w, "all sent", func(st EndpointStatus) bool { return st.PendingSamples == 0 })
	st := w.Status()
	if len(st) != 1 || st[0].Name != "test" || st[0].HighestSent.UnixMilli() != 1004 {
		t.Fatalf("status %+v", st)
	}
}

func TestWriterRetries5xxThenDelivers(t *testing.T) {
	rcv := newTestReceiver(t, func(call int, w http.ResponseWriter) bool {
		if call <= 2 {
			http.Error(w, "ingester unavailable", http.StatusServiceUnavailable)
			return true
		}
		return false
	})
	reg := prometheus.NewRegistry()
	w := newTestWriter(t, t.TempDir(), reg, endpointConfig(t, rcv.URL, nil))
	forward(w, "m", 1000, 3)
	rcv.waitTotal(t, 3)
	waitStatus(t, w, "all sent", func(st EndpointStatus) bool { return st.PendingSamples == 0 })
	if n := rcv.callCount(); n < 3 {
		t.Fatalf("%d calls, want two failures and a success", n)
	}
	if got := testutil.ToFloat64(w.m.retried); got < 1 {
		t.Fatalf("retried = %v", got)
	}
	if got := testutil.ToFloat64(w.m.failed); got != 0 {
		t.Fatalf("failed = %v after a retried 503", got)
	}
	if st := w.Status()[0]; st.Failing || !strings.Contains(st.LastError, "503") {
		t.Fatalf("status after recovery: %+v", st)
	}
}

// A 400 is not retried: the batch is counted failed, acknowledged, and the
// next batches go on.
func TestWriterDoesNotRetry4xx(t *testing.T) {
	rcv := newTestReceiver(t, func(call int, w http.ResponseWriter) bool {
		if call == 1 {
			http.Error(w, "out of order sample", http.StatusBadRequest)
			return true
		}
		return false
	})
	w := newTestWriter(t, t.TempDir(), nil, endpointConfig(t, rcv.URL, nil))
	forward(w, "bad", 1000, 1)
	deadline := time.Now().Add(5 * time.Second)
	for testutil.ToFloat64(w.m.failed) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("400 not counted as failed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	forward(w, "good", 2000, 2)
	rcv.waitTotal(t, 2)
	if n := rcv.callCount(); n != 2 {
		t.Fatalf("%d calls: the 400 was retried", n)
	}
	waitStatus(t, w, "nothing pending", func(st EndpointStatus) bool { return st.PendingSamples == 0 })
	st := w.Status()[0]
	if !strings.Contains(st.LastError, "400") || !strings.Contains(st.LastError, "out of order sample") ||
		st.HighestQueued.UnixMilli() != 2001 || st.HighestSent.UnixMilli() != 2001 || st.LagSeconds != 0 {
		t.Fatalf("status %+v: want the 400 and its body, everything sent", st)
	}
}

func TestWriter429HonoursRetryAfter(t *testing.T) {
	var first time.Time
	var second time.Time
	rcv := newTestReceiver(t, func(call int, w http.ResponseWriter) bool {
		switch call {
		case 1:
			first = time.Now()
			w.Header().Set("Retry-After", "1")
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return true
		case 2:
			second = time.Now()
		}
		return false
	})
	w := newTestWriter(t, t.TempDir(), nil, endpointConfig(t, rcv.URL, func(c *promconfig.RemoteWriteConfig) {
		c.QueueConfig.RetryOnRateLimit = true
	}))
	forward(w, "m", 1000, 1)
	rcv.waitTotal(t, 1)
	if wait := second.Sub(first); wait < 900*time.Millisecond {
		t.Fatalf("retried %s after a 429 with Retry-After: 1", wait)
	}
}

func TestWriter429WithoutRetryOnRateLimitIsFinal(t *testing.T) {
	rcv := newTestReceiver(t, func(call int, w http.ResponseWriter) bool {
		if call == 1 {
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return true
		}
		return false
	})
	w := newTestWriter(t, t.TempDir(), nil, endpointConfig(t, rcv.URL, nil))
	forward(w, "m", 1000, 1)
	deadline := time.Now().Add(5 * time.Second)
	for testutil.ToFloat64(w.m.failed) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("429 not counted as failed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if rcv.callCount() != 1 {
		t.Fatalf("%d calls", rcv.callCount())
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"":                              0,
		"3":                             3 * time.Second,
		"soon":                          0,
		"Wed, 01 Jan 2025 00:00:10 GMT": 10 * time.Second,
		"Tue, 31 Dec 2024 23:00:00 GMT": 0,
	} {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("Retry-After %q = %s, want %s", in, got, want)
		}
	}
}

// External labels are added unless the sample has the label; relabeling
// runs after them; histograms and exemplars only go where asked for.
func TestEncoderLabels(t *testing.T) {
	drop := &relabel.Config{SourceLabels: model.LabelNames{"__name__"}, Regex: relabel.MustNewRegexp("secret_.*"), Action: relabel.Drop}
	e := &encoder{external: labels.FromStrings("cluster", "eu", "replica", "a"), relabel: []*relabel.Config{drop}}
	b := &Batch{Samples: []Sample{
		{Labels: labels.FromStrings("__name__", "up", "replica", "own"), T: 1, V: 1},
		{Labels: labels.FromStrings("__name__", "secret_x"), T: 2, V: 2},
	}}
	rec, err := e.encode(b)
	if err != nil {
		t.Fatal(err)
	}
	req, err := decodeRecord(rec.payload)
	if err != nil {
		t.Fatal(err)
	}
	if len(req.Timeseries) != 1 || rec.items != 1 || rec.maxT != 1 {
		t.Fatalf("%d series, %d items, maxT %d: want the one kept", len(req.Timeseries), rec.items, rec.maxT)
	}
	if got := labelsString(req.Timeseries[0].Labels); got != "{__name__=up,cluster=eu,replica=own}" {
		t.Fatalf("labels %s", got)
	}
	// Everything dropped: no record at all.
	if rec, _ := e.encode(&Batch{Samples: b.Samples[1:]}); rec.payload != nil {
		t.Fatal("a record for nothing")
	}
}

func TestEncoderHistogramsAndExemplarsOnRequest(t *testing.T) {
	b := &Batch{
		Samples:   []Sample{{Labels: labels.FromStrings("__name__", "h"), T: 5, FH: nil, H: nil, V: 1}},
		Exemplars: []Exemplar{{Labels: labels.FromStrings("__name__", "h")}},
	}
	b.Samples = append(b.Samples, Sample{Labels: labels.FromStrings("__name__", "hist"), T: 6, H: testHistogram()})
	for _, tc := range []struct {
		e          encoder
		series, it int
	}{
		{encoder{}, 1, 1},
		{encoder{sendHistograms: true}, 2, 2},
		{encoder{sendHistograms: true, sendExemplars: true}, 3, 2},
	} {
		rec, err := tc.e.encode(b)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := decodeRecord(rec.payload)
		if len(req.Timeseries) != tc.series || rec.items != tc.it {
			t.Errorf("%+v: %d series, %d items; want %d, %d", tc.e, len(req.Timeseries), rec.items, tc.series, tc.it)
		}
	}
}

// Samples queued while the receiver is down are all delivered, in order,
// once it is up, also across a restart of the writer.
func TestWriterQueuesWhileReceiverDownAndResumesAfterRestart(t *testing.T) {
	dir := t.TempDir()
	rcv := newTestReceiver(t, nil)
	down := true
	var mtx sync.Mutex
	rcv.respond = func(_ int, w http.ResponseWriter) bool {
		mtx.Lock()
		defer mtx.Unlock()
		if down {
			http.Error(w, "down", http.StatusBadGateway)
		}
		return down
	}
	ep := endpointConfig(t, rcv.URL, nil)
	w := NewWriter(Options{Dir: dir})
	if err := w.ApplyConfig(Config{Endpoints: []*promconfig.RemoteWriteConfig{ep}}); err != nil {
		t.Fatal(err)
	}
	forward(w, "m", 1000, 50)
	waitStatus(t, w, "failing", func(st EndpointStatus) bool { return st.Failing })
	if st := w.Status()[0]; st.PendingSamples != 50 || st.LagSeconds <= 0 || !strings.Contains(st.LastError, "502") {
		t.Fatalf("status while the receiver is down: %+v", st)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	w2 := newTestWriter(t, dir, nil, ep)
	forward(w2, "m", 1050, 50)
	mtx.Lock()
	down = false
	mtx.Unlock()
	rcv.waitTotal(t, 100)
	time.Sleep(50 * time.Millisecond)
	got := rcv.samples["{__name__=m}"]
	if len(got) != 100 {
		t.Fatalf("%d samples delivered, want exactly 100", len(got))
	}
	for i, s := range got {
		if s.Timestamp != int64(1000+i) {
			t.Fatalf("sample %d has timestamp %d: out of order or duplicated", i, s.Timestamp)
		}
	}
}

// With several shards every series still arrives in order.
func TestWriterShardsKeepSeriesOrder(t *testing.T) {
	rcv := newTestReceiver(t, nil)
	w := newTestWriter(t, t.TempDir(), nil, endpointConfig(t, rcv.URL, func(c *promconfig.RemoteWriteConfig) {
		c.QueueConfig.MinShards, c.QueueConfig.MaxShards, c.QueueConfig.MaxSamplesPerSend = 4, 4, 7
	}))
	for i := range 200 {
		b := &Batch{}
		for s := range 10 {
			b.Samples = append(b.Samples, Sample{Labels: labels.FromStrings("__name__", "m", "s", fmt.Sprint(s)), T: int64(i), V: float64(i)})
		}
		w.Forward(b)
	}
	rcv.waitTotal(t, 2000)
	rcv.mtx.Lock()
	defer rcv.mtx.Unlock()
	for k, ss := range rcv.samples {
		if len(ss) != 200 {
			t.Fatalf("series %s: %d samples", k, len(ss))
		}
		if !slices.IsSortedFunc(ss, func(a, b prompb.Sample) int { return int(a.Timestamp - b.Timestamp) }) {
			t.Fatalf("series %s out of order", k)
		}
	}
	if st := w.Status()[0]; st.Shards != 4 {
		t.Fatalf("shards %d", st.Shards)
	}
}

// A reload keeps an unchanged endpoint's queue, restarts a changed one
// from its acknowledged position, deletes a removed one's queue, and a
// refused configuration changes nothing.
func TestWriterApplyConfig(t *testing.T) {
	dir := t.TempDir()
	a := newTestReceiver(t, func(int, http.ResponseWriter) bool { return false })
	b := newTestReceiver(t, nil)
	block := make(chan struct{})
	a.respond = func(int, http.ResponseWriter) bool { <-block; return false }
	epA := endpointConfig(t, a.URL, func(c *promconfig.RemoteWriteConfig) { c.Name = "a" })
	epB := endpointConfig(t, b.URL, func(c *promconfig.RemoteWriteConfig) { c.Name = "b" })
	w := newTestWriter(t, dir, prometheus.NewRegistry(), epA, epB)
	forward(w, "m", 1000, 3)
	b.waitTotal(t, 3)

	// The same configuration again (a reload of an unchanged file) leaves
	// the senders alone.
	senders := []*sender{w.eps[0].snd, w.eps[1].snd}
	if err := w.ApplyConfig(Config{Endpoints: []*promconfig.RemoteWriteConfig{
		endpointConfig(t, a.URL, func(c *promconfig.RemoteWriteConfig) { c.Name = "a" }),
		endpointConfig(t, b.URL, func(c *promconfig.RemoteWriteConfig) { c.Name = "b" }),
	}, Sync: 2}); err != nil {
		t.Fatal(err)
	}
	if w.eps[0].snd != senders[0] || w.eps[1].snd != senders[1] {
		t.Fatal("an unchanged endpoint was restarted")
	}

	// Refused: an unsupported option. Both endpoints keep going.
	bad := endpointConfig(t, b.URL, func(c *promconfig.RemoteWriteConfig) {
		c.Name = "c"
		c.ProtobufMessage = "io.prometheus.write.v2.Request"
	})
	if err := w.ApplyConfig(Config{Endpoints: []*promconfig.RemoteWriteConfig{epA, bad}}); err == nil || !strings.Contains(err.Error(), "remote write 1.0") {
		t.Fatalf("remote write 2.0 accepted or unclear: %v", err)
	}
	if len(w.Status()) != 2 {
		t.Fatalf("refused configuration changed the endpoints: %+v", w.Status())
	}

	// Change a's headers while its receiver hangs: the queued samples are
	// sent by the new sender; remove b: its queue goes.
	epA2 := endpointConfig(t, a.URL, func(c *promconfig.RemoteWriteConfig) {
		c.Name = "a"
		c.Headers = map[string]string{"X-New": "1"}
	})
	done := make(chan error)
	go func() { done <- w.ApplyConfig(Config{Endpoints: []*promconfig.RemoteWriteConfig{epA2}}) }()
	time.Sleep(100 * time.Millisecond)
	close(block) // let the old sender's request finish within the grace
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	a.waitTotal(t, 3)
	forward(w, "m", 2000, 2)
	a.waitTotal(t, 5)
	a.mtx.Lock()
	last := a.requests[len(a.requests)-1].Header.Get("X-New")
	a.mtx.Unlock()
	if last != "1" {
		t.Fatal("reconfigured sender does not use the new headers")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("queue directories after removing b: %d", len(entries))
	}
	if st := w.Status(); len(st) != 1 || st[0].Name != "a" {
		t.Fatalf("status %+v", st)
	}
	if b.total() != 3 {
		t.Fatalf("removed endpoint got %d samples", b.total())
	}
	// No remote_write at all: the writer is disabled.
	if err := w.ApplyConfig(Config{}); err != nil || w.Enabled() {
		t.Fatalf("empty configuration: %v, enabled %v", err, w.Enabled())
	}
}

// A queue left by an endpoint that is no longer configured is deleted at
// start.
func TestWriterRemovesLeftoverQueues(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "0123456789abcdef"), 0o750); err != nil {
		t.Fatal(err)
	}
	rcv := newTestReceiver(t, nil)
	newTestWriter(t, dir, nil, endpointConfig(t, rcv.URL, nil))
	if _, err := os.Stat(filepath.Join(dir, "0123456789abcdef")); !os.IsNotExist(err) {
		t.Fatalf("leftover queue kept: %v", err)
	}
}

// Secrets appear in no status, label or log line.
func TestWriterNeverShowsSecrets(t *testing.T) {
	rcv := newTestReceiver(t, func(_ int, w http.ResponseWriter) bool {
		http.Error(w, "nope", http.StatusUnauthorized)
		return true
	})
	u := strings.Replace(rcv.URL, "http://", "http://user:urlpass@", 1)
	var logs strings.Builder
	var lmtx sync.Mutex
	reg := prometheus.NewRegistry()
	w := NewWriter(Options{Dir: t.TempDir(), Registerer: reg, Logger: newTestLogger(&logs, &lmtx)})
	ep := endpointConfig(t, u, func(c *promconfig.RemoteWriteConfig) { c.Headers = map[string]string{"X-Token": "hdrsecret"} })
	if err := w.ApplyConfig(Config{Endpoints: []*promconfig.RemoteWriteConfig{ep}}); err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	forward(w, "m", 1000, 1)
	deadline := time.Now().Add(5 * time.Second)
	for !w.Status()[0].Failing && w.Status()[0].LastError == "" {
		if time.Now().After(deadline) {
			t.Fatal("no failure reported")
		}
		time.Sleep(10 * time.Millisecond)
	}
	mfs, _ := reg.Gather()
	var all strings.Builder
	fmt.Fprintf(&all, "%+v", w.Status())
	for _, mf := range mfs {
		fmt.Fprintf(&all, "%v", mf)
	}
	lmtx.Lock()
	all.WriteString(logs.String())
	lmtx.Unlock()
	for _, secret := range []string{"urlpass", "hdrsecret"} {
		if strings.Contains(all.String(), secret) {
			t.Errorf("secret %q shown:\n%s", secret, all.String())
		}
	}
}

// A full queue drops its oldest samples and counts them: what arrives and
// what was counted dropped add up to what was committed.
func TestWriterBoundedQueueDropsOldestAndCounts(t *testing.T) {
	rcv := newTestReceiver(t, nil)
	var mtx sync.Mutex
	down := true
	rcv.respond = func(_ int, w http.ResponseWriter) bool {
		mtx.Lock()
		defer mtx.Unlock()
		if down {
			http.Error(w, "down", http.StatusServiceUnavailable)
		}
		return down
	}
	reg := prometheus.NewRegistry()
	w := NewWriter(Options{Dir: t.TempDir(), Registerer: reg})
	defer w.Close()
	ep := endpointConfig(t, rcv.URL, func(c *promconfig.RemoteWriteConfig) { c.QueueConfig.Capacity = 10 })
	if err := w.ApplyConfig(Config{Endpoints: []*promconfig.RemoteWriteConfig{ep}, MaxQueueBytes: 64 << 10, Sync: 2}); err != nil {
		t.Fatal(err)
	}
	const n = 5000
	forward(w, "m", 1000, n)
	st := w.Status()[0]
	dropped := testutil.ToFloat64(w.m.dropped.WithLabelValues(st.Name, st.URL, "queue_full"))
	if dropped == 0 || st.QueueBytes > 64<<10 {
		t.Fatalf("dropped %v, queue %d bytes: want drops within 64KiB", dropped, st.QueueBytes)
	}
	mtx.Lock()
	down = false
	mtx.Unlock()
	rcv.waitTotal(t, n-int(dropped))
	time.Sleep(100 * time.Millisecond)
	if got := rcv.total(); got+int(dropped) != n {
		t.Fatalf("delivered %d + dropped %v != %d committed", got, dropped, n)
	}
	// The newest samples are the ones kept.
	got := rcv.samples["{__name__=m}"]
	if got[len(got)-1].Timestamp != 1000+n-1 {
		t.Fatalf("newest sample %d not delivered", 1000+n-1)
	}
}

// queue_config.sample_age_limit drops samples older than the limit
// instead of sending them, and counts them.
func TestWriterSampleAgeLimit(t *testing.T) {
	rcv := newTestReceiver(t, nil)
	w := newTestWriter(t, t.TempDir(), nil, endpointConfig(t, rcv.URL, func(c *promconfig.RemoteWriteConfig) {
		c.QueueConfig.SampleAgeLimit = model.Duration(time.Hour)
	}))
	now := int(time.Now().UnixMilli())
	forward(w, "old", 1000, 3)
	forward(w, "new", now, 2)
	rcv.waitTotal(t, 2)
	waitStatus(t, w, "all sent", func(st EndpointStatus) bool { return st.PendingSamples == 0 })
	st := w.Status()[0]
	if got := testutil.ToFloat64(w.m.dropped.WithLabelValues(st.Name, st.URL, "sample_age_limit")); got != 3 {
		t.Fatalf("dropped %v, want the 3 old samples", got)
	}
	rcv.mtx.Lock()
	defer rcv.mtx.Unlock()
	if len(rcv.samples["{__name__=old}"]) != 0 || len(rcv.samples["{__name__=new}"]) != 2 {
		t.Fatalf("received %v", rcv.samples)
	}
}

// A slow receiver and a backlog make the shards grow toward max_shards;
// resharding drains the old shards first, so every series stays in order
// and nothing is lost or sent twice.
func TestWriterReshardsUnderBacklog(t *testing.T) {
	rcv := newTestReceiver(t, nil)
	rcv.delay = 5 * time.Millisecond
	w := NewWriter(Options{Dir: t.TempDir()})
	w.reshardEvery = 50 * time.Millisecond
	defer w.Close()
	ep := endpointConfig(t, rcv.URL, func(c *promconfig.RemoteWriteConfig) {
		c.QueueConfig.MinShards, c.QueueConfig.MaxShards, c.QueueConfig.MaxSamplesPerSend = 1, 4, 5
	})
	if err := w.ApplyConfig(Config{Endpoints: []*promconfig.RemoteWriteConfig{ep}, Sync: 2}); err != nil {
		t.Fatal(err)
	}
	const rounds, series = 300, 8
	for i := range rounds {
		b := &Batch{}
		for s := range series {
			b.Samples = append(b.Samples, Sample{Labels: labels.FromStrings("__name__", "m", "s", fmt.Sprint(s)), T: int64(i), V: float64(i)})
		}
		w.Forward(b)
	}
	maxShards := 0
	deadline := time.Now().Add(20 * time.Second)
	for rcv.total() < rounds*series {
		maxShards = max(maxShards, w.Status()[0].Shards)
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d samples after 20s", rcv.total(), rounds*series)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if maxShards < 2 {
		t.Fatalf("shards never grew (max %d)", maxShards)
	}
	time.Sleep(50 * time.Millisecond)
	rcv.mtx.Lock()
	defer rcv.mtx.Unlock()
	for k, ss := range rcv.samples {
		if len(ss) != rounds {
			t.Fatalf("series %s: %d samples, want %d", k, len(ss), rounds)
		}
		for i, s := range ss {
			if s.Timestamp != int64(i) {
				t.Fatalf("series %s: sample %d has timestamp %d", k, i, s.Timestamp)
			}
		}
	}
}

// Relabeling that adds labels outgrows the batch's label slab; every
// series still keeps its own labels.
func TestEncoderRelabelAddingLabels(t *testing.T) {
	add := &relabel.Config{SourceLabels: model.LabelNames{"__name__"}, Regex: relabel.MustNewRegexp("(.*)"),
		TargetLabel: "copy", Replacement: "$1", Action: relabel.Replace, NameValidationScheme: model.UTF8Validation}
	e := &encoder{relabel: []*relabel.Config{add}}
	b := &Batch{}
	for i := range 20 {
		b.Samples = append(b.Samples, Sample{Labels: labels.FromStrings("__name__", fmt.Sprint("m", i)), T: int64(i)})
	}
	for range 3 { // again, with pooled buffers
		rec, err := e.encode(b)
		if err != nil {
			t.Fatal(err)
		}
		req, err := decodeRecord(rec.payload)
		if err != nil {
			t.Fatal(err)
		}
		rec.release()
		for i, ts := range req.Timeseries {
			if got, want := labelsString(ts.Labels), fmt.Sprintf("{__name__=m%d,copy=m%d}", i, i); got != want {
				t.Fatalf("series %d: %s, want %s", i, got, want)
			}
		}
	}
}

func waitStatus(t *testing.T, w *Writer, what string, cond func(EndpointStatus) bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond(w.Status()[0]) {
		if time.Now().After(deadline) {
			t.Fatalf("not %s after 5s: %+v", what, w.Status()[0])
		}
		time.Sleep(5 * time.Millisecond)
	}
}
