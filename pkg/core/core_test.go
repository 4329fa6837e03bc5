package core

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/grafana/dskit/services"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func configFor(targets ...string) string {
	var b strings.Builder
	b.WriteString("global:\n  scrape_interval: 100ms\n  scrape_timeout: 100ms\nscrape_configs:\n")
	for i, tg := range targets {
		fmt.Fprintf(&b, "  - job_name: job%d\n    static_configs:\n      - targets: [%q]\n", i, tg)
	}
	return b.String()
}

func startCore(t *testing.T, configFile string) *Core {
	t.Helper()
	c, err := New(Options{ConfigFile: configFile, DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := services.StartAndAwaitRunning(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = services.StopAndAwaitTerminated(context.Background(), c) })
	return c
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestReloadRefusesBadConfigAndKeepsScraping(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "x 1")
	}))
	defer srv.Close()
	path := filepath.Join(t.TempDir(), "graft.yml")
	writeFile(t, path, configFor(srv.Listener.Addr().String()))
	c := startCore(t, path)
	waitFor(t, "target up", func() bool { return c.Health().TargetsUp == 1 })

	writeFile(t, path, "scrape_configs:\n  - job_name: a\n    scrape_interval: soon\n")
	if err := c.Reload(); err == nil {
		t.Fatal("bad config accepted")
	}
	h := c.Health()
	if h.ConfigError == "" || h.Healthy() {
		t.Fatalf("health after failed reload: %+v", h)
	}
	if len(c.Config().ScrapeConfigs) != 1 || c.Config().ScrapeConfigs[0].JobName != "job0" {
		t.Fatalf("running config replaced: %+v", c.Config().ScrapeConfigs)
	}
	if h.TargetsUp != 1 {
		t.Fatalf("old target not scraped any more: %+v", h)
	}

	// A good file is applied and clears the error.
	writeFile(t, path, configFor(srv.Listener.Addr().String(), srv.Listener.Addr().String()))
	if err := c.Reload(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "two targets up", func() bool { return c.Health().TargetsUp == 2 })
	if h := c.Health(); h.ConfigError != "" || !h.Healthy() {
		t.Fatalf("health after good reload: %+v", h)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "graft.yml")
	writeFile(t, path, "graft:\n  storage:\n    retention: -1d\n")
	if _, err := New(Options{ConfigFile: path}); err == nil {
		t.Fatal("bad config accepted")
	}
	if _, err := New(Options{ConfigFile: filepath.Join(t.TempDir(), "missing.yml")}); err == nil {
		t.Fatal("missing config accepted")
	}
}

func TestEmbeddedDefaultScrapesItself(t *testing.T) {
	c, err := New(Options{DataDir: t.TempDir(), ListenAddress: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(c.Config().ScrapeConfigs); got != 2 {
		t.Fatalf("default config has %d jobs, want graft and demo", got)
	}
	// The default targets are 127.0.0.1:9091, which this test does not own;
	// check the handler serves what they scrape instead.
	srv := httptest.NewServer(c.Handler())
	defer srv.Close()
	for _, path := range []string{"/metrics", "/demo/metrics"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s: %d", path, resp.StatusCode)
		}
	}
}

func TestListenerErrorIsReportedNotFatalForPlugin(t *testing.T) {
	busy := httptest.NewServer(http.NotFoundHandler())
	defer busy.Close()
	path := filepath.Join(t.TempDir(), "graft.yml")
	writeFile(t, path, "graft:\n  web:\n    listen_address: "+busy.Listener.Addr().String()+"\n")
	c := startCore(t, path)
	if h := c.Health(); h.ListenError == "" || h.Healthy() {
		t.Fatalf("busy address not reported: %+v", h)
	}

	strict, err := New(Options{ConfigFile: path, DataDir: t.TempDir(), RequireListener: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := services.StartAndAwaitRunning(context.Background(), strict); err == nil {
		t.Fatal("standalone core started without its listener")
	}
}
