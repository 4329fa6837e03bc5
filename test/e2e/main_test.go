// Package e2e drives Graft's built executables the way their users do: the
// plugin over Grafana's plugin protocol (go-plugin handshake, gRPC), the
// standalone server over HTTP and with promtool.
package e2e

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// Binaries under test. GRAFT_PLUGIN_BINARY and GRAFT_BINARY point at
// prebuilt ones (make test passes the dist/ plugin); otherwise they are built
// once into a temporary folder.
var (
	pluginBinary string
	serverBinary string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "graft-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		var err error
		if pluginBinary, err = binary("GRAFT_PLUGIN_BINARY", dir, "gpx_graft", "./pkg"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if serverBinary, err = binary("GRAFT_BINARY", dir, "graft", "./pkg/cmd/graft"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return m.Run()
	}()
	os.Exit(code)
}

func binary(env, dir, name, pkg string) (string, error) {
	if p := os.Getenv(env); p != "" {
		abs, err := filepath.Abs(p)
		if err != nil {
			return "", err
		}
		if _, err := os.Stat(abs); err != nil {
			return "", fmt.Errorf("%s: %w", env, err)
		}
		return abs, nil
	}
	out := filepath.Join(dir, name)
	if runtime.GOOS == "windows" {
		out += ".exe"
	}
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = repoRoot()
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build %s: %v\n%s", pkg, err, b)
	}
	return out, nil
}

func repoRoot() string {
	wd, _ := os.Getwd()
	return filepath.Join(wd, "..", "..")
}

// target is a loopback scrape target whose counter grows by 10 per scrape, so
// that rate() has a known answer at any scrape interval... per second it is
// 10 / interval.
type target struct {
	*httptest.Server
	mtx     sync.Mutex
	scrapes int
}

func newTarget(t *testing.T) *target {
	tg := &target{}
	tg.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		tg.mtx.Lock()
		tg.scrapes++
		n := tg.scrapes
		tg.mtx.Unlock()
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintf(w, "# TYPE e2e_requests_total counter\n")
		fmt.Fprintf(w, "e2e_requests_total{path=\"/a\"} %d\n", 10*n)
		fmt.Fprintf(w, "e2e_requests_total{path=\"/b\"} %d\n", 20*n)
		fmt.Fprintf(w, "# TYPE e2e_temperature gauge\ne2e_temperature 21.5\n")
	}))
	t.Cleanup(tg.Close)
	return tg
}

func (tg *target) hostPort() string {
	return tg.Listener.Addr().String()
}

// freePort returns a loopback address nobody listens on right now.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// writeConfig writes a graft.yml scraping the target every second.
func writeConfig(t *testing.T, listen string, targets ...string) string {
	t.Helper()
	var b []byte
	b = fmt.Appendf(b, "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n")
	b = fmt.Appendf(b, "graft:\n  web:\n    listen_address: %q\n", listen)
	b = fmt.Appendf(b, "scrape_configs:\n  - job_name: e2e\n    static_configs:\n      - targets:\n")
	for _, tg := range targets {
		b = fmt.Appendf(b, "          - %q\n", tg)
	}
	path := filepath.Join(t.TempDir(), "graft.yml")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
