package core

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
)

// receiver counts the samples remote-written to it, by metric name.
type receiver struct {
	*httptest.Server
	mtx    sync.Mutex
	byName map[string]int
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{byName: map[string]int{}}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		raw, err := snappy.Decode(nil, body)
		var wr prompb.WriteRequest
		if err == nil {
			err = wr.Unmarshal(raw)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.mtx.Lock()
		defer r.mtx.Unlock()
		for _, ts := range wr.Timeseries {
			for _, l := range ts.Labels {
				if l.Name == "__name__" {
					r.byName[l.Value] += len(ts.Samples)
				}
			}
		}
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) count(name string) int {
	r.mtx.Lock()
	defer r.mtx.Unlock()
	return r.byName[name]
}

func remoteWriteConfig(target, url, extra string, moreJobs ...string) string {
	return configFor(target) + strings.Join(moreJobs, "") + fmt.Sprintf(`remote_write:
  - url: %s
    name: rw
    queue_config: {batch_send_deadline: 50ms}
%s`, url, extra)
}

// Scraped samples reach the remote-write receiver; Health reports the
// endpoint; a reload that the remote-write part refuses keeps everything
// running; one without remote_write stops sending.
func TestCoreRemoteWritesScrapedSamples(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "x 1")
	}))
	defer target.Close()
	rcv := newReceiver(t)
	path := filepath.Join(t.TempDir(), "graft.yml")
	writeFile(t, path, remoteWriteConfig(target.Listener.Addr().String(), rcv.URL,
		"    write_relabel_configs: [{source_labels: [__name__], regex: 'scrape_.*', action: drop}]\n"))
	c := startCore(t, path)
	waitFor(t, "scraped samples remote-written", func() bool { return rcv.count("x") >= 2 && rcv.count("up") >= 2 })
	if n := rcv.count("scrape_duration_seconds"); n != 0 {
		t.Fatalf("write_relabel_configs did not drop scrape_duration_seconds (%d samples)", n)
	}
	h := c.Health()
	if len(h.RemoteWrite) != 1 || h.RemoteWrite[0].Name != "rw" || h.RemoteWrite[0].Failing || !h.Healthy() {
		t.Fatalf("health %+v", h)
	}
	if !strings.Contains(h.Summary(), "remote write rw:") {
		t.Fatalf("summary %q", h.Summary())
	}
	if len(h.Warnings) != 0 {
		t.Fatalf("warnings %q", h.Warnings)
	}

	// Refused by the remote-write part (a bad TLS file is only found when
	// the client is built): the scrape change of the same file is rolled back.
	writeFile(t, path, remoteWriteConfig(target.Listener.Addr().String(), rcv.URL,
		"    tls_config: {ca_file: /nonexistent/ca.pem}\n", "  - job_name: extra\n    static_configs: [{targets: ['127.0.0.1:1']}]\n"))
	if err := c.Reload(); err == nil || !strings.Contains(err.Error(), "apply remote_write configuration") {
		t.Fatalf("remote_write with a missing CA file: %v", err)
	}
	if n := len(c.Config().ScrapeConfigs); n != 1 {
		t.Fatalf("%d scrape configs after a refused reload", n)
	}
	before := rcv.count("x")
	waitFor(t, "sending goes on", func() bool { return rcv.count("x") > before })

	// Without remote_write, nothing more is sent.
	writeFile(t, path, configFor(target.Listener.Addr().String()))
	if err := c.Reload(); err != nil {
		t.Fatal(err)
	}
	if h := c.Health(); len(h.RemoteWrite) != 0 {
		t.Fatalf("endpoint still reported: %+v", h.RemoteWrite)
	}
}
