package e2e

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/gogo/protobuf/proto"
	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/prompb"
)

// The compatibility test's data set: deterministic values at fixed offsets
// from a base time, so that both servers hold exactly the same samples.
// Prometheus's head refuses samples older than an hour behind its newest,
// so the whole set spans 55 minutes ending before now.
const (
	compatInterval = 15 * time.Second
	compatSteps    = 220 // 55 minutes of samples
)

// compatDataset is the series pushed to both servers; base is the time of
// step 0, a whole minute.
type compatDataset struct {
	base   time.Time
	series []prompb.TimeSeries
}

// compatSeries describes one generated series: its labels, the steps it
// has samples at [from, to), whether a stale marker follows its last
// sample, and its value at step k.
type compatSeries struct {
	labels   []string // name, value pairs; __name__ first
	from, to int
	stale    bool
	value    func(k int) float64
}

func newCompatDataset(now time.Time) *compatDataset {
	ds := &compatDataset{base: now.Truncate(time.Minute).Add(-time.Hour)}
	for i, s := range compatSeriesList() {
		ds.series = append(ds.series, ds.generate(i, s))
	}
	return ds
}

// at is the timestamp (ms) of step k of series i. The jitter of 1 to 997
// ms keeps every sample off the whole seconds that evaluation times, range
// boundaries and subquery steps fall on: Prometheus 3 (whose semantics
// Graft follows) excludes the left edge of ranges where Prometheus 2
// included it, and no sample ever sits on one.
func (ds *compatDataset) at(i, k int) int64 {
	jitter := 1 + (k*7919+i*104729)%997
	return ds.base.Add(time.Duration(k)*compatInterval).UnixMilli() + int64(jitter)
}

// t is the Unix time (seconds) of an offset from base, for queries.
func (ds *compatDataset) t(offset time.Duration) int64 {
	return ds.base.Add(offset).Unix()
}

func (ds *compatDataset) generate(i int, s compatSeries) prompb.TimeSeries {
	var ts prompb.TimeSeries
	for j := 0; j < len(s.labels); j += 2 {
		ts.Labels = append(ts.Labels, prompb.Label{Name: s.labels[j], Value: s.labels[j+1]})
	}
	sort.Slice(ts.Labels, func(a, b int) bool { return ts.Labels[a].Name < ts.Labels[b].Name })
	for k := s.from; k < s.to; k++ {
		ts.Samples = append(ts.Samples, prompb.Sample{Timestamp: ds.at(i, k), Value: s.value(k)})
	}
	if s.stale {
		ts.Samples = append(ts.Samples, prompb.Sample{Timestamp: ds.at(i, s.to), Value: math.Float64frombits(value.StaleNaN)})
	}
	return ts
}

func (ds *compatDataset) sampleCount() int {
	n := 0
	for _, s := range ds.series {
		n += len(s.Samples)
	}
	return n
}

// compatSeriesList is the data set: counters (one reset, one that stops
// early), gauges (one that stops with a stale marker, one that starts
// late), a classic histogram, special float values, and an info metric.
func compatSeriesList() []compatSeries {
	var out []compatSeries
	out = append(out, compatCounters()...)
	out = append(out, compatGauges()...)
	out = append(out, compatHistogram("api", "a:1", 3)...)
	out = append(out, compatHistogram("api", "a:2", 5)...)
	out = append(out, compatHistogram("db", "b:1", 2)...)
	out = append(out, compatSpecials()...)
	return out
}

// instances are the targets of the data set: job, instance, whether up.
var compatInstances = []struct {
	job, instance string
	up            float64
}{{"api", "a:1", 1}, {"api", "a:2", 1}, {"api", "a:3", 0}, {"db", "b:1", 1}, {"batch", "c:1", 1}}

func compatCounters() []compatSeries {
	var out []compatSeries
	n := 0
	for _, in := range compatInstances {
		for _, mc := range [][2]string{{"GET", "200"}, {"GET", "500"}, {"POST", "200"}} {
			if in.job != "api" && mc[0] == "POST" {
				continue
			}
			n++
			s := compatSeries{
				labels: []string{"__name__", "compat_http_requests_total", "job", in.job, "instance", in.instance, "method", mc[0], "code", mc[1]},
				to:     compatSteps,
				value:  counter(n, -1),
			}
			if in.instance == "a:2" && mc[1] == "500" {
				s.value = counter(n, 100) // a restart of the process
			}
			if in.instance == "a:3" {
				s.to = 160 // gone without a stale marker
			}
			out = append(out, s)
		}
		m := float64(len(out))
		out = append(out, compatSeries{
			labels: []string{"__name__", "compat_cpu_seconds_total", "job", in.job, "instance", in.instance},
			to:     compatSteps,
			value:  func(k int) float64 { return float64(k) * (0.125 + m/64) },
		}, compatSeries{
			labels: []string{"__name__", "compat_up", "job", in.job, "instance", in.instance},
			to:     compatSteps,
			value:  func(int) float64 { return in.up },
		}, compatSeries{
			labels: []string{"__name__", "compat_build_info", "job", in.job, "instance", in.instance, "version", fmt.Sprintf("1.%d.0", len(out))},
			to:     compatSteps,
			value:  func(int) float64 { return 1 },
		})
	}
	return out
}

// counter grows by 0 to 6 (plus n/3) per step from 0; at step reset, if
// any, it starts again from 2.
func counter(n, reset int) func(int) float64 {
	return func(k int) float64 {
		from := 0
		if reset >= 0 && k >= reset {
			from = reset
		}
		v := 0.0
		if from > 0 {
			v = 2
		}
		for j := from + 1; j <= k; j++ {
			v += float64((j*n)%7) + float64(n/3)
		}
		return v
	}
}

func compatGauges() []compatSeries {
	var out []compatSeries
	for i, room := range []string{"kitchen", "hall", "attic", "cellar"} {
		job := "api"
		if i%2 == 1 {
			job = "db"
		}
		s := compatSeries{
			labels: []string{"__name__", "compat_temperature_celsius", "job", job, "instance", "sensor:" + room, "room", room},
			to:     compatSteps,
			value: func(k int) float64 {
				return math.Round((20+5*math.Sin(float64(k)/10+float64(i)))*100)/100 + float64(i)/1000
			},
		}
		if room == "attic" {
			s.to, s.stale = 141, true
		}
		out = append(out, s)
	}
	out = append(out, compatSeries{
		labels: []string{"__name__", "compat_queue_length", "job", "batch", "instance", "c:1"},
		to:     compatSteps,
		value:  func(k int) float64 { return float64((k * 13) % 17) },
	}, compatSeries{
		labels: []string{"__name__", "compat_memory_bytes", "job", "db", "instance", "b:1"},
		to:     compatSteps,
		value:  func(k int) float64 { return 1<<30 + float64(k*k*4096) },
	}, compatSeries{
		labels: []string{"__name__", "compat_late_gauge", "job", "batch", "instance", "c:1"},
		from:   80, to: compatSteps,
		value: func(k int) float64 { return float64(k) / 4 },
	}, compatSeries{
		labels: []string{"__name__", "compat_batch_last_success_timestamp_seconds", "job", "batch", "instance", "c:1"},
		to:     compatSteps,
		value:  func(k int) float64 { return float64(1_700_000_000 + (k/20)*3600) },
	}, compatSeries{
		labels: []string{"__name__", "compat_label_edge", "job", "batch", "path", `/ünï "cødé" \ x`},
		to:     compatSteps,
		value:  func(k int) float64 { return float64(k % 3) },
	})
	for i := range 3 {
		out = append(out, compatSeries{
			labels: []string{"__name__", "compat_ratio", "job", "batch", "shard", fmt.Sprint(i)},
			to:     compatSteps,
			value:  func(k int) float64 { return math.Sin(float64(k*(i+1)) / 7) },
		})
	}
	return out
}

// compatHistogram is a classic histogram: cumulative le buckets, _sum and
// _count, with per-instance observation rates.
func compatHistogram(job, instance string, rate int) []compatSeries {
	bounds := []string{"0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"}
	// per step, observations fall into bucket b with weight (b+rate)%4.
	perStep := func(b int) int { return (b + rate) % 4 }
	cum := func(k, upTo int) float64 {
		n := 0
		for b := 0; b <= upTo; b++ {
			n += perStep(b) * k
		}
		return float64(n)
	}
	base := []string{"job", job, "instance", instance}
	var out []compatSeries
	for bi, le := range bounds {
		out = append(out, compatSeries{
			labels: append([]string{"__name__", "compat_request_duration_seconds_bucket", "le", le}, base...),
			to:     compatSteps,
			value:  func(k int) float64 { return cum(k, bi) },
		})
	}
	return append(out, compatSeries{
		labels: append([]string{"__name__", "compat_request_duration_seconds_count"}, base...),
		to:     compatSteps,
		value:  func(k int) float64 { return cum(k, len(bounds)-1) },
	}, compatSeries{
		labels: append([]string{"__name__", "compat_request_duration_seconds_sum"}, base...),
		to:     compatSteps,
		value:  func(k int) float64 { return float64(k) * 0.37 * float64(rate) },
	})
}

// compatSpecials carry NaN, infinities, zero and extreme magnitudes.
func compatSpecials() []compatSeries {
	kinds := map[string]func(int) float64{
		"nan": func(k int) float64 {
			if k%3 == 0 {
				return math.NaN()
			}
			return float64(k)
		},
		"inf": func(k int) float64 {
			if k%5 == 0 {
				return math.Inf(1)
			}
			return 1
		},
		"neginf": func(k int) float64 {
			if k%7 == 0 {
				return math.Inf(-1)
			}
			return -2
		},
		"zero":     func(int) float64 { return 0 },
		"tiny":     func(k int) float64 { return 1e-300 * float64(k+1) },
		"huge":     func(k int) float64 { return 1e300 * float64(k%4+1) },
		"negative": func(k int) float64 { return -float64(k) - 0.5 },
	}
	names := make([]string, 0, len(kinds))
	for k := range kinds {
		names = append(names, k)
	}
	sort.Strings(names)
	out := make([]compatSeries, 0, len(names))
	for _, name := range names {
		out = append(out, compatSeries{
			labels: []string{"__name__", "compat_special", "job", "batch", "kind", name},
			to:     compatSteps,
			value:  kinds[name],
		})
	}
	return out
}

// pushRemoteWrite sends the data set to addr's /api/v1/write with remote
// write 1.0, a few series per request.
func pushRemoteWrite(t *testing.T, addr string, ds *compatDataset) {
	t.Helper()
	const perRequest = 10
	for i := 0; i < len(ds.series); i += perRequest {
		req := &prompb.WriteRequest{Timeseries: ds.series[i:min(i+perRequest, len(ds.series))]}
		if err := postWriteRequest(addr, req); err != nil {
			t.Fatalf("remote write to %s: %v", addr, err)
		}
	}
}

func postWriteRequest(addr string, req *prompb.WriteRequest) error {
	raw, err := proto.Marshal(req)
	if err != nil {
		return fmt.Errorf("marshal: %w", err)
	}
	hreq, err := http.NewRequest(http.MethodPost, "http://"+addr+"/api/v1/write", bytes.NewReader(snappy.Encode(nil, raw)))
	if err != nil {
		return err
	}
	hreq.Header.Set("Content-Type", "application/x-protobuf")
	hreq.Header.Set("Content-Encoding", "snappy")
	hreq.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	resp, err := http.DefaultClient.Do(hreq)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("status %d: %s", resp.StatusCode, body)
	}
	return nil
}
