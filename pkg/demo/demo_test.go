package demo

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"
)

// The demo target serves valid OpenMetrics whose counters grow with time.
func TestDemoTargetServesGrowingOpenMetrics(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	tgt := New(1, func() time.Time { return now })
	exemplars := 0
	scrape := func() map[string]float64 {
		req := httptest.NewRequest(http.MethodGet, "/demo/metrics", nil)
		req.Header.Set("Accept", "application/openmetrics-text;version=1.0.0")
		rec := httptest.NewRecorder()
		tgt.ServeHTTP(rec, req)
		body, _ := io.ReadAll(rec.Body)
		ct := rec.Header().Get("Content-Type")
		if !strings.HasPrefix(ct, "application/openmetrics-text") {
			t.Fatalf("content type %q", ct)
		}
		samples, ex := parse(t, body, ct)
		exemplars = ex
		return samples
	}
	now = now.Add(15 * time.Second)
	first := scrape()
	now = now.Add(15 * time.Second)
	second := scrape()

	var requests1, requests2 float64
	for k, v := range first {
		if strings.Contains(k, `__name__="demo_http_requests_total"`) {
			requests1 += v
		}
	}
	for k, v := range second {
		if strings.Contains(k, `__name__="demo_http_requests_total"`) {
			requests2 += v
		}
	}
	// About (40+120+60) req/s over 15s; the load wave keeps it within ±30%.
	if d := requests2 - requests1; d < 2000 || d > 4500 {
		t.Errorf("requests grew by %v in 15s", d)
	}
	if _, ok := second[`{__name__="demo_process_resident_memory_bytes", service="checkout"}`]; !ok {
		t.Errorf("memory gauge missing from %d series", len(second))
	}
	if exemplars == 0 {
		t.Error("latency histogram buckets carry no trace exemplars")
	}
}

// parse returns every sample keyed by its series and counts the exemplars.
func parse(t *testing.T, body []byte, ct string) (map[string]float64, int) {
	t.Helper()
	p, err := textparse.New(body, ct, nil, textparse.ParserOptions{})
	if p == nil {
		t.Fatalf("parser: %v", err)
	}
	out := map[string]float64{}
	exemplars := 0
	var l labels.Labels
	var e exemplar.Exemplar
	for {
		entry, err := p.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("invalid exposition: %v", err)
		}
		if entry != textparse.EntrySeries {
			continue
		}
		_, _, v := p.Series()
		p.Labels(&l)
		out[l.String()] = v
		for p.Exemplar(&e) {
			if e.Labels.Get("trace_id") != "" {
				exemplars++
			}
		}
	}
	return out, exemplars
}
