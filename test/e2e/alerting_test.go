package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// alertmanager starts Debian's prometheus-alertmanager on loopback with a
// webhook receiver, and returns its address and the webhook's payloads.
func alertmanager(t *testing.T) (string, func() []map[string]any) {
	t.Helper()
	bin, err := exec.LookPath("prometheus-alertmanager")
	if err != nil {
		if os.Getenv("GRAFT_REQUIRE_PROMTOOL") != "" {
			t.Fatal("prometheus-alertmanager not found (install Debian's prometheus-alertmanager package)")
		}
		t.Skip("prometheus-alertmanager not installed; make test installs it")
	}
	var mtx sync.Mutex
	var payloads []map[string]any
	hook := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var p map[string]any
		if json.Unmarshal(b, &p) == nil {
			mtx.Lock()
			payloads = append(payloads, p)
			mtx.Unlock()
		}
	}))
	t.Cleanup(hook.Close)

	dir := t.TempDir()
	cfg := fmt.Sprintf(`route:
  receiver: hook
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: %s/hook
        send_resolved: true
`, hook.URL)
	if err := os.WriteFile(filepath.Join(dir, "am.yml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freePort(t)
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "am.yml"), "--storage.path="+dir,
		"--web.listen-address="+addr, "--cluster.listen-address=")
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("alertmanager log:\n%s", logs.String())
		}
	})
	waitHTTP(t, "http://"+addr+"/-/ready", 20*time.Second)
	return addr, func() []map[string]any {
		mtx.Lock()
		defer mtx.Unlock()
		return append([]map[string]any(nil), payloads...)
	}
}

// Graft evaluates a rule file, writes the recorded series, fires an alert
// and a real Alertmanager delivers it to a webhook.
func TestRulesRecordAndAlertThroughAlertmanager(t *testing.T) {
	amAddr, received := alertmanager(t)
	tg := newTarget(t)
	dir := t.TempDir()
	rules := `groups:
  - name: e2e
    interval: 1s
    rules:
      - record: job:e2e_requests:sum
        expr: sum by (job) (e2e_requests_total)
      - alert: E2EHot
        expr: e2e_temperature > 20
        labels: {severity: warning}
        annotations:
          summary: "temperature {{ $value }} on {{ $labels.instance }}"
`
	if err := os.WriteFile(filepath.Join(dir, "rules.yml"), []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: [rules.yml]
alerting:
  alertmanagers:
    - static_configs:
        - targets: [%q]
scrape_configs:
  - job_name: e2e
    static_configs:
      - targets: [%q]
`, amAddr, tg.hostPort())
	path := filepath.Join(dir, "graft.yml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	addr, _, _ := startServer(t, path)

	// The webhook receives the firing alert with its expanded annotation.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if alert := findAlert(received(), "E2EHot"); alert != nil {
			ann := alert["annotations"].(map[string]any)
			if !strings.HasPrefix(ann["summary"].(string), "temperature 21.5 on 127.0.0.1:") {
				t.Errorf("summary = %q", ann["summary"])
			}
			if alert["status"] != "firing" {
				t.Errorf("status = %v", alert["status"])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no alert delivered in 30s; webhook got %v", received())
		}
		time.Sleep(200 * time.Millisecond)
	}

	// The recorded series and ALERTS are queryable, and the rules API lists both rules.
	for query, want := range map[string]string{
		"job:e2e_requests:sum":                           `"job":"e2e"`,
		`ALERTS{alertname="E2EHot",alertstate="firing"}`: `"severity":"warning"`,
	} {
		body := get(t, "http://"+addr+"/api/v1/query?query="+url.QueryEscape(query))
		if !strings.Contains(body, want) {
			t.Errorf("%s: %s lacks %s", query, body, want)
		}
	}
	body := get(t, "http://"+addr+"/api/v1/rules")
	if !strings.Contains(body, `"name":"job:e2e_requests:sum"`) || !strings.Contains(body, `"state":"firing"`) {
		t.Errorf("/api/v1/rules = %s", body)
	}
}

func findAlert(payloads []map[string]any, name string) map[string]any {
	for _, p := range payloads {
		alerts, _ := p["alerts"].([]any)
		for _, a := range alerts {
			am, _ := a.(map[string]any)
			if l, _ := am["labels"].(map[string]any); l["alertname"] == name {
				return am
			}
		}
	}
	return nil
}

func get(t *testing.T, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
