package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// startServer runs the standalone server on a free loopback port and waits
// until it is ready. Extra flags are appended.
func startServer(t *testing.T, config string, extra ...string) (addr string, cmd *exec.Cmd, logs *syncBuffer) {
	t.Helper()
	addr = freePort(t)
	cmd, logs = startServerAt(t, addr, config, extra...)
	return addr, cmd, logs
}

// startServerAt is startServer on a given address.
func startServerAt(t *testing.T, addr, config string, extra ...string) (cmd *exec.Cmd, logs *syncBuffer) {
	t.Helper()
	args := append([]string{
		"--config.file=" + config,
		"--web.listen-address=" + addr,
		"--storage.tsdb.path=" + t.TempDir(),
	}, extra...)
	cmd = exec.Command(serverBinary, args...)
	logs = &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	waitHTTP(t, "http://"+addr+"/-/ready", 20*time.Second)
	return cmd, logs
}

// syncBuffer collects a child's output while the test reads it.
type syncBuffer struct {
	mtx sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mtx.Lock()
	defer b.mtx.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mtx.Lock()
	defer b.mtx.Unlock()
	return b.buf.String()
}

func waitHTTP(t *testing.T, url string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		resp, err := http.Get(url)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready after %s (last error %v)", url, timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// promtool is Prometheus's own client; make test installs it from Debian's
// prometheus package. Without it the test is skipped only when
// GRAFT_REQUIRE_PROMTOOL is unset (CI sets it).
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("GRAFT_REQUIRE_PROMTOOL") != "" {
			t.Fatal("promtool not found (install Debian's prometheus package)")
		}
		t.Skip("promtool not installed; make test installs it")
	}
	return p
}

func TestPromtoolQueriesStandaloneServer(t *testing.T) {
	pt := promtool(t)
	tg := newTarget(t)
	addr, _, _ := startServer(t, writeConfig(t, "", tg.hostPort()))
	// rate() over [5s] divides by the whole window: wait until scrapes cover it.
	waitScrapes(t, tg, 8)
	time.Sleep(200 * time.Millisecond) // the scrape that was counted is committed by now

	run := func(args ...string) string {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, pt, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	url := "http://" + addr

	t.Run("instant up", func(t *testing.T) {
		out := run("query", "instant", url, "up")
		want := fmt.Sprintf(`up{instance="%s", job="e2e"} => 1 @[`, tg.hostPort())
		if !strings.Contains(out, want) {
			t.Fatalf("promtool output %q lacks %q", out, want)
		}
	})
	t.Run("instant sum of rates", func(t *testing.T) {
		out := run("query", "instant", url, `sum(rate(e2e_requests_total[5s]))`)
		m := regexp.MustCompile(`\{\} => ([0-9.]+) @\[`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("unexpected output %q", out)
		}
		var v float64
		fmt.Sscan(m[1], &v)
		if v < 27 || v > 33 {
			t.Fatalf("sum of rates = %v, want about 30 (10/s + 20/s)", v)
		}
	})
	t.Run("labels", func(t *testing.T) {
		out := run("query", "labels", url, "job")
		if !strings.Contains(out, "e2e") {
			t.Fatalf("label values %q lack e2e", out)
		}
	})
	t.Run("series", func(t *testing.T) {
		out := run("query", "series", url, "--match", `e2e_requests_total{path="/a"}`)
		if !strings.Contains(out, `path="/a"`) || strings.Contains(out, `path="/b"`) {
			t.Fatalf("series output %q", out)
		}
	})
	t.Run("range", func(t *testing.T) {
		end := time.Now()
		out := run("query", "range", url, "--start", fmt.Sprint(end.Add(-10*time.Second).Unix()), "--end", fmt.Sprint(end.Unix()), "--step", "1s", "e2e_temperature")
		if !strings.Contains(out, "21.5 @[") {
			t.Fatalf("range output %q", out)
		}
	})
}

func TestServerAPIEndpoints(t *testing.T) {
	tg := newTarget(t)
	addr, _, _ := startServer(t, writeConfig(t, "", tg.hostPort()))
	waitScrapes(t, tg, 2)
	for path, want := range map[string]string{
		"/-/healthy":                   "Healthy",
		"/api/v1/status/buildinfo":     `"goVersion"`,
		"/metrics":                     "graft_scrapes_total",
		"/api/v1/query?query=sum(":     `"errorType":"bad_data"`,
		"/api/v1/label/job/values":     `"e2e"`,
		"/api/v1/targets":              `"health":"up"`,
		"/api/v1/nonexistent":          `"errorType":"not_found"`,
		"/api/v1/query_range?query=up": `"errorType":"bad_data"`,
	} {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if !strings.Contains(string(body), want) {
			t.Errorf("GET %s: %d %s, want it to contain %s", path, resp.StatusCode, body, want)
		}
	}
}

// A bad file on reload is refused and the running configuration keeps
// scraping; a good one is applied.
func TestServerReloadKeepsRunningConfigOnError(t *testing.T) {
	tg := newTarget(t)
	cfg := writeConfig(t, "", tg.hostPort())
	addr, cmd, logs := startServer(t, cfg)
	waitScrapes(t, tg, 1)

	if err := os.WriteFile(cfg, []byte("scrape_configs: [oops"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "keeping the running one") {
		if time.Now().After(deadline) {
			t.Fatal("reload failure not logged")
		}
		time.Sleep(100 * time.Millisecond)
	}
	tg.mtx.Lock()
	before := tg.scrapes
	tg.mtx.Unlock()
	waitScrapes(t, tg, before+2) // still scraping on the old config

	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if !strings.Contains(string(body), "graft_config_last_reload_successful 0") {
		t.Errorf("/metrics does not report the failed reload")
	}
}

func httpPost(url, contentType string, body []byte) (int, error) {
	resp, err := http.Post(url, contentType, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}
