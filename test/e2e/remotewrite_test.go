package e2e

import (
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A real Prometheus (Debian's package) scrapes a target and remote-writes
// to the standalone server, which stores what it receives.
func TestPrometheusRemoteWritesToGraft(t *testing.T) {
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv("GRAFT_REQUIRE_PROMTOOL") != "" {
			t.Fatal("prometheus not found (install Debian's prometheus package)")
		}
		t.Skip("prometheus not installed; make test installs it")
	}
	graftCfg := writeConfig(t, "") // no scrape targets of its own
	addr, _, _ := startServer(t, graftCfg, "--web.enable-remote-write-receiver")

	tg := newTarget(t)
	dir := t.TempDir()
	promCfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: via-prometheus
    static_configs:
      - targets: [%q]
remote_write:
  - url: http://%s/api/v1/write
    queue_config:
      batch_send_deadline: 1s
      min_backoff: 100ms
`, tg.hostPort(), addr)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(promCfg), 0o600); err != nil {
		t.Fatal(err)
	}
	promAddr := freePort(t)
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+promAddr)
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("prometheus log:\n%s", logs.String())
		}
	})

	deadline := time.Now().Add(60 * time.Second)
	for {
		body := get(t, "http://"+addr+"/api/v1/query?query="+url.QueryEscape(`e2e_requests_total{job="via-prometheus",path="/a"}`))
		if strings.Contains(body, `"path":"/a"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("remote-written series never arrived: %s", body)
		}
		time.Sleep(300 * time.Millisecond)
	}
	body := get(t, "http://"+addr+"/api/v1/query?query="+url.QueryEscape(`up{job="via-prometheus"}`))
	if !strings.Contains(body, `"value":[`) || !strings.Contains(body, `,"1"]`) {
		t.Errorf("up from Prometheus's scrape: %s", body)
	}
}

func TestRemoteWriteReceiverIsOffByDefault(t *testing.T) {
	addr, _, _ := startServer(t, writeConfig(t, ""))
	resp, err := httpPost("http://"+addr+"/api/v1/write", "application/x-protobuf", []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if resp != 404 {
		t.Fatalf("disabled receiver answered %d, want 404", resp)
	}
}
