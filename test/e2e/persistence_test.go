package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"
)

// rawSamples returns the raw samples of the last 10 minutes of every series
// of expr, keyed by series and timestamp.
func rawSamples(t *testing.T, addr, expr string) map[string]string {
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
	out := map[string]string{}
	for _, r := range body.Data.Result {
		for _, v := range r.Values {
			out[fmt.Sprintf("%v@%v", r.Metric, v[0])] = fmt.Sprint(v[1])
		}
	}
	return out
}

// The standalone server killed with SIGKILL while scraping comes back with
// every sample it had served before.
func TestServerKeepsSamplesAcrossKill(t *testing.T) {
	tg := newTarget(t)
	data := t.TempDir()
	cfg := writeConfig(t, "", tg.hostPort())
	addr, cmd, _ := startServer(t, cfg, "--storage.tsdb.path="+data)
	waitScrapes(t, tg, 3)
	before := rawSamples(t, addr, "e2e_requests_total")
	if len(before) < 4 {
		t.Fatalf("only %d samples before the kill", len(before))
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	addr, _, _ = startServer(t, cfg, "--storage.tsdb.path="+data)
	after := rawSamples(t, addr, "e2e_requests_total")
	for k, v := range before {
		if after[k] != v {
			t.Errorf("sample %s = %s before the kill, %q after", k, v, after[k])
		}
	}
}
