package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Remote write out: the standalone server scrapes a known target and
// remote-writes to real receivers started on loopback (Debian's Prometheus
// and VictoriaMetrics), which must end up with exactly Graft's samples.

// receiverBinary finds a Debian-packaged receiver; make test installs them.
func receiverBinary(t *testing.T, name, pkg string) string {
	t.Helper()
	bin, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("GRAFT_REQUIRE_PROMTOOL") != "" {
			t.Fatalf("%s not found (install Debian's %s package)", name, pkg)
		}
		t.Skipf("%s not installed; make test installs it", name)
	}
	return bin
}

// startProcess runs a receiver until the test ends and returns its handle.
func startProcess(t *testing.T, name, bin string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, args...)
	logs := &syncBuffer{}
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
			<-done
		}
		if t.Failed() {
			t.Logf("%s log:\n%s", name, logs.String())
		}
	})
	return cmd
}

// startPrometheusReceiver runs Prometheus with its remote-write receiver on.
func startPrometheusReceiver(t *testing.T) string {
	bin := receiverBinary(t, "prometheus", "prometheus")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte("global:\n  scrape_interval: 1m\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freePort(t)
	startProcess(t, "prometheus", bin, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--web.enable-remote-write-receiver")
	waitHTTP(t, "http://"+addr+"/-/ready", 20*time.Second)
	return addr
}

// startVictoriaMetrics runs single-node VictoriaMetrics on addr.
func startVictoriaMetrics(t *testing.T, addr string) {
	bin := receiverBinary(t, "victoria-metrics", "victoria-metrics")
	startProcess(t, "victoria-metrics", bin, "-httpListenAddr="+addr, "-storageDataPath="+t.TempDir(),
		"-search.latencyOffset=0s", "-search.disableCache", "-retentionPeriod=100y", "-loggerLevel=WARN")
	waitHTTP(t, "http://"+addr+"/health", 20*time.Second)
}

// graftRemoteWriteConfig scrapes the target every second and remote-writes
// to url with short deadlines and backoffs.
func graftRemoteWriteConfig(t *testing.T, target, url string) string {
	t.Helper()
	b := fmt.Appendf(nil, `global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: e2e
    static_configs: [{targets: [%q]}]
remote_write:
  - url: %s
    name: out
    queue_config:
      batch_send_deadline: 200ms
      min_backoff: 50ms
      max_backoff: 500ms
`, target, url)
	path := filepath.Join(t.TempDir(), "graft.yml")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// samples are raw samples by series (its labels, printed) and timestamp (ms).
type samples map[string]map[int64]float64

func (s samples) add(metric map[string]string, ms int64, v float64) {
	k := fmt.Sprint(metric)
	if s[k] == nil {
		s[k] = map[int64]float64{}
	}
	s[k][ms] = v
}

func (s samples) count() int {
	n := 0
	for _, ss := range s {
		n += len(ss)
	}
	return n
}

// missingFrom lists the samples of s that other lacks or holds with
// another value.
func (s samples) missingFrom(other samples) []string {
	var out []string
	for k, ss := range s {
		for ts, v := range ss {
			if ov, ok := other[k][ts]; !ok || ov != v {
				out = append(out, fmt.Sprintf("%s@%d=%v (has %v, %v)", k, ts, v, ov, ok))
			}
		}
	}
	return out
}

// queryRaw reads the raw samples of the last 10 minutes of expr through a
// Prometheus-compatible query API.
func queryRaw(t *testing.T, addr, expr string) samples {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/api/v1/query?query=" + url.QueryEscape(expr+"[10m]"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Data struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Values [][2]any          `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	out := samples{}
	for _, r := range body.Data.Result {
		for _, v := range r.Values {
			ts, _ := v[0].(float64)
			f, _ := strconv.ParseFloat(fmt.Sprint(v[1]), 64)
			out.add(r.Metric, int64(math.Round(ts*1000)), f)
		}
	}
	return out
}

// vmExport reads VictoriaMetrics's raw samples of a selector, as stored:
// duplicates (the same series and timestamp twice) are counted, not merged.
func vmExport(t *testing.T, addr, match string) (samples, int) {
	t.Helper()
	if resp, err := http.Get("http://" + addr + "/internal/force_flush"); err == nil {
		_ = resp.Body.Close()
	}
	resp, err := http.Get("http://" + addr + "/api/v1/export?match[]=" + url.QueryEscape(match))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, dups := samples{}, 0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var line struct {
			Metric     map[string]string `json:"metric"`
			Values     []float64         `json:"values"`
			Timestamps []int64           `json:"timestamps"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("export line %q: %v", sc.Text(), err)
		}
		for i, ts := range line.Timestamps {
			if _, ok := out[fmt.Sprint(line.Metric)][ts]; ok {
				dups++
			}
			out.add(line.Metric, ts, line.Values[i])
		}
	}
	return out, dups
}

// waitArrived waits until every sample of want is in what get returns.
func waitArrived(t *testing.T, what string, want samples, get func() samples) samples {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := get()
		missing := want.missingFrom(got)
		if len(missing) == 0 {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d of %d samples missing after 20s, e.g. %v", what, len(missing), want.count(), missing[:min(3, len(missing))])
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// graftMetric reads one sample of Graft's /metrics whose line starts with prefix.
func graftMetric(t *testing.T, addr, prefix string) float64 {
	t.Helper()
	body := get(t, "http://"+addr+"/metrics")
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(prefix) + `[^ ]* ([0-9.e+-]+)$`).FindStringSubmatch(body)
	if m == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// checkDelivered compares a receiver's copy of the target's series with
// Graft's: everything Graft stored arrives, with the same values, and the
// receiver holds nothing Graft does not.
func checkDelivered(t *testing.T, graftAddr string, received func() samples) {
	t.Helper()
	const expr = `{job="e2e"}`
	before := queryRaw(t, graftAddr, expr)
	if before.count() == 0 {
		t.Fatal("Graft has no samples of the target")
	}
	got := waitArrived(t, "scraped samples at the receiver", before, received)
	after := queryRaw(t, graftAddr, expr)
	if extra := got.missingFrom(after); len(extra) > 0 {
		t.Fatalf("the receiver holds %d samples Graft does not, e.g. %v", len(extra), extra[:min(3, len(extra))])
	}
	// The counter of the known target: 10 per scrape, every value once.
	for k, ss := range got {
		if !strings.Contains(k, "path:/a") {
			continue
		}
		for _, v := range ss {
			if math.Mod(v, 10) != 0 || v <= 0 {
				t.Fatalf("e2e_requests_total{path=/a} has value %v", v)
			}
		}
		if len(ss) < 3 {
			t.Fatalf("only %d samples of %s arrived", len(ss), k)
		}
	}
}

func TestRemoteWriteOutToPrometheus(t *testing.T) {
	prom := startPrometheusReceiver(t)
	tg := newTarget(t)
	addr, _, _ := startServer(t, graftRemoteWriteConfig(t, tg.hostPort(), "http://"+prom+"/api/v1/write"))
	waitScrapes(t, tg, 3)
	checkDelivered(t, addr, func() samples { return queryRaw(t, prom, `{job="e2e"}`) })
	if v := graftMetric(t, addr, `graft_remote_storage_samples_total{remote_name="out"`); v < 10 {
		t.Fatalf("graft_remote_storage_samples_total = %v", v)
	}
	if v := graftMetric(t, addr, `graft_remote_storage_queue_highest_sent_timestamp_seconds{remote_name="out"`); time.Since(time.Unix(int64(v), 0)) > time.Minute {
		t.Fatalf("highest sent timestamp %v", v)
	}
}

func TestRemoteWriteOutToVictoriaMetrics(t *testing.T) {
	vm := freePort(t)
	startVictoriaMetrics(t, vm)
	tg := newTarget(t)
	addr, _, _ := startServer(t, graftRemoteWriteConfig(t, tg.hostPort(), "http://"+vm+"/api/v1/write"))
	waitScrapes(t, tg, 3)
	checkDelivered(t, addr, func() samples { s, _ := vmExport(t, vm, `{job="e2e"}`); return s })
	if _, dups := vmExport(t, vm, `{job="e2e"}`); dups != 0 {
		t.Fatalf("%d samples stored twice", dups)
	}
	// And through VictoriaMetrics's Prometheus query API.
	body := get(t, "http://"+vm+"/api/v1/query?query="+url.QueryEscape(`up{job="e2e"}`))
	if !strings.Contains(body, `"1"]`) {
		t.Fatalf("up through VictoriaMetrics's query API: %s", body)
	}
}

// The receiver is down: Graft queues, is killed with SIGKILL, restarts on
// its data and queues more; the receiver comes up and gets every sample
// committed before and after the kill, none twice.
func TestRemoteWriteOutSurvivesReceiverDownAndKill(t *testing.T) {
	vm := freePort(t) // nobody listens there yet
	tg := newTarget(t)
	data := t.TempDir()
	cfg := graftRemoteWriteConfig(t, tg.hostPort(), "http://"+vm+"/api/v1/write")
	addr, cmd, _ := startServer(t, cfg, "--storage.tsdb.path="+data)
	waitScrapes(t, tg, 3)
	deadline := time.Now().Add(10 * time.Second)
	for graftMetric(t, addr, `graft_remote_storage_samples_retried_total{remote_name="out"`) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no retries while the receiver is down")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if v := graftMetric(t, addr, `graft_remote_storage_samples_pending{remote_name="out"`); v < 5 {
		t.Fatalf("pending samples while the receiver is down: %v", v)
	}
	beforeKill := queryRaw(t, addr, `{job="e2e"}`)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	addr, _, _ = startServer(t, cfg, "--storage.tsdb.path="+data)
	scrapes := tg.scrapeCount()
	waitScrapes(t, tg, scrapes+2)
	startVictoriaMetrics(t, vm)
	waitArrived(t, "samples queued before the kill", beforeKill, func() samples { s, _ := vmExport(t, vm, `{job="e2e"}`); return s })
	// Then everything Graft holds now, from before and after the restart.
	checkDelivered(t, addr, func() samples { s, _ := vmExport(t, vm, `{job="e2e"}`); return s })
	got, dups := vmExport(t, vm, `{job="e2e"}`)
	if dups != 0 {
		t.Fatalf("%d samples stored twice", dups)
	}
	if got.count() <= beforeKill.count() {
		t.Fatalf("nothing committed after the restart arrived (%d samples)", got.count())
	}
}

func (tg *target) scrapeCount() int {
	tg.mtx.Lock()
	defer tg.mtx.Unlock()
	return tg.scrapes
}
