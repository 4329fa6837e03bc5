package scrape

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	_ "github.com/prometheus/prometheus/discovery/file" // file_sd_configs

	"github.com/graftlabs/graft/pkg/storage/memstore"
)

// Targets listed in a file_sd file are scraped; when the file drops one,
// its loop stops and its series get stale markers.
func TestFileServiceDiscovery(t *testing.T) {
	a, b := newTestTarget(t), newTestTarget(t)
	a.set(http.StatusOK, ctText, "from_file 1\n")
	b.set(http.StatusOK, ctText, "from_file 2\n")
	dir := t.TempDir()
	targets := filepath.Join(dir, "targets.json")
	write := func(hosts ...string) {
		t.Helper()
		body := `[{"targets": [`
		for i, h := range hosts {
			if i > 0 {
				body += ","
			}
			body += fmt.Sprintf("%q", h)
		}
		body += `], "labels": {"team": "core"}}]`
		// Write then rename, so the watcher never reads a half-written file.
		tmp := targets + ".tmp"
		if err := os.WriteFile(tmp, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, targets); err != nil {
			t.Fatal(err)
		}
	}
	write(a.host(), b.host())

	st := memstore.New()
	m := NewManager(st, Options{})
	t.Cleanup(m.Stop)
	yml := scrapeConfigsYAML(fmt.Sprintf(`  - job_name: files
    scrape_interval: 100ms
    scrape_timeout: 100ms
    file_sd_configs:
      - files: [%q]
        refresh_interval: 1s
`, targets))
	if err := m.ApplyConfig(loadScrapeConfigs(t, yml)); err != nil {
		t.Fatal(err)
	}
	withTeam := func(tt *testTarget) labels.Labels {
		return labels.NewBuilder(upLabels("files", tt)).Set("team", "core").Labels()
	}
	upA, upB := withTeam(a), withTeam(b)
	waitScrapes(t, st, upA, 1)
	waitScrapes(t, st, upB, 1)
	if ts := m.Targets(); len(ts) != 2 || ts[0].Labels.Get("team") != "core" {
		t.Fatalf("targets = %+v", ts)
	}

	write(a.host())
	eventually(t, 15*time.Second, "b dropped from the file", func() bool {
		p, ok := lastSample(t, st, upB)
		return ok && value.IsStaleNaN(p.V)
	})
	waitScrapes(t, st, upA, 2) // a keeps going
	if ts := m.Targets(); len(ts) != 1 {
		t.Fatalf("targets after removal = %+v", ts)
	}
}
