package scrape

import (
	"net/http"
	"slices"
	"testing"
)

func TestScrapeKeepsMetadata(t *testing.T) {
	h := newHarness(t, "")
	h.target.set(http.StatusOK, "application/openmetrics-text; version=1.0.0; charset=utf-8", `# TYPE requests counter
# HELP requests Requests served.
requests_total 3
# TYPE latency_seconds histogram
# UNIT latency_seconds seconds
# HELP latency_seconds Latency.
latency_seconds_bucket{le="+Inf"} 1
latency_seconds_sum 0.1
latency_seconds_count 1
# EOF
`)
	h.scrape(1)
	// The harness's loop is not started by the manager: register its pool.
	h.mgr.mtx.Lock()
	h.mgr.pools["test"] = &pool{loops: map[string]*loop{"t": h.loop}}
	h.mgr.mtx.Unlock()
	defer func() {
		h.mgr.mtx.Lock()
		delete(h.mgr.pools, "test")
		h.mgr.mtx.Unlock()
	}()
	got := h.mgr.Metadata()
	want := map[string][]Metadata{
		"requests":        {{Type: "counter", Help: "Requests served."}},
		"latency_seconds": {{Type: "histogram", Help: "Latency.", Unit: "seconds"}},
	}
	for name, md := range want {
		if !slices.Equal(got[name], md) {
			t.Errorf("%s: got %+v, want %+v", name, got[name], md)
		}
	}

	// A failed scrape keeps the metadata of the last good one.
	h.target.set(http.StatusInternalServerError, ctText, "")
	h.scrape(2)
	if got := h.mgr.Metadata(); !slices.Equal(got["requests"], want["requests"]) {
		t.Errorf("after a failed scrape: %+v", got)
	}
}
