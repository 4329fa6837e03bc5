package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/grpcplugin"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"
	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
)

// pluginClient talks to a started plugin executable as Grafana does.
type pluginClient struct {
	client      *goplugin.Client
	data        grpcplugin.DataClient
	diagnostics grpcplugin.DiagnosticsClient
	resource    grpcplugin.ResourceClient
	pctx        backend.PluginContext
	stderr      *syncBuffer
}

// startPlugin launches the plugin with the given environment and completes
// the go-plugin handshake with the SDK's gRPC plugin set.
func startPlugin(t *testing.T, env ...string) *pluginClient {
	t.Helper()
	cmd := exec.Command(pluginBinary)
	cmd.Env = append(os.Environ(), env...)
	stderr := &syncBuffer{}
	client := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig: goplugin.HandshakeConfig{
			ProtocolVersion:  grpcplugin.ProtocolVersion,
			MagicCookieKey:   grpcplugin.MagicCookieKey,
			MagicCookieValue: grpcplugin.MagicCookieValue,
		},
		VersionedPlugins: map[int]goplugin.PluginSet{
			grpcplugin.ProtocolVersion: {
				"diagnostics": &grpcplugin.DiagnosticsGRPCPlugin{},
				"resource":    &grpcplugin.ResourceGRPCPlugin{},
				"data":        &grpcplugin.DataGRPCPlugin{},
			},
		},
		Cmd:              cmd,
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		Logger:           hclog.New(&hclog.LoggerOptions{Output: stderr, Level: hclog.Debug}),
		StartTimeout:     30 * time.Second,
	})
	t.Cleanup(func() {
		client.Kill()
		if t.Failed() {
			t.Logf("plugin log:\n%s", stderr.String())
		}
	})
	rpc, err := client.Client()
	if err != nil {
		t.Fatalf("plugin handshake: %v\n%s", err, stderr.String())
	}
	pc := &pluginClient{client: client, stderr: stderr}
	pc.data = dispense[grpcplugin.DataClient](t, rpc, "data")
	pc.diagnostics = dispense[grpcplugin.DiagnosticsClient](t, rpc, "diagnostics")
	pc.resource = dispense[grpcplugin.ResourceClient](t, rpc, "resource")
	pc.pctx = backend.PluginContext{
		OrgID:    1,
		PluginID: "graftlabs-graft-datasource",
		DataSourceInstanceSettings: &backend.DataSourceInstanceSettings{
			ID: 1, UID: "graft", Name: "Graft", Type: "graftlabs-graft-datasource",
			JSONData: []byte(`{"timeInterval":"1s"}`),
			Updated:  time.Now(),
		},
	}
	return pc
}

func dispense[T any](t *testing.T, rpc goplugin.ClientProtocol, name string) T {
	t.Helper()
	raw, err := rpc.Dispense(name)
	if err != nil {
		t.Fatalf("dispense %s: %v", name, err)
	}
	c, ok := raw.(T)
	if !ok {
		t.Fatalf("dispense %s: got %T", name, raw)
	}
	return c
}

func (pc *pluginClient) checkHealth(t *testing.T) *backend.CheckHealthResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := pc.diagnostics.CheckHealth(ctx, &pluginv2.CheckHealthRequest{
		PluginContext: backend.ToProto().PluginContext(pc.pctx),
	})
	if err != nil {
		t.Fatalf("CheckHealth: %v", err)
	}
	return backend.FromProto().CheckHealthResponse(resp)
}

func (pc *pluginClient) queryData(t *testing.T, queries ...backend.DataQuery) *backend.QueryDataResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req := &backend.QueryDataRequest{PluginContext: pc.pctx, Queries: queries}
	resp, err := pc.data.QueryData(ctx, backend.ToProto().QueryDataRequest(req))
	if err != nil {
		t.Fatalf("QueryData: %v", err)
	}
	out, err := backend.FromProto().QueryDataResponse(resp)
	if err != nil {
		t.Fatalf("decode QueryData response: %v", err)
	}
	return out
}

func (pc *pluginClient) callResource(t *testing.T, path string) (int, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := &backend.CallResourceRequest{PluginContext: pc.pctx, Path: path, Method: "GET", URL: path}
	stream, err := pc.resource.CallResource(ctx, backend.ToProto().CallResourceRequest(req))
	if err != nil {
		t.Fatalf("CallResource %s: %v", path, err)
	}
	var status int
	var body []byte
	for {
		msg, err := stream.Recv()
		if err != nil {
			break
		}
		if msg.Code != 0 {
			status = int(msg.Code)
		}
		body = append(body, msg.Body...)
	}
	return status, body
}

// waitHealthy polls CheckHealth until the core has scraped its targets.
func (pc *pluginClient) waitHealthy(t *testing.T, timeout time.Duration) *backend.CheckHealthResult {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		res := pc.checkHealth(t)
		if res.Status == backend.HealthStatusOk && strings.Contains(res.Message, "targets up") && !strings.Contains(res.Message, "not scraped yet") {
			return res
		}
		if time.Now().After(deadline) {
			t.Fatalf("plugin not healthy after %s: %v %q", timeout, res.Status, res.Message)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func rangeQuery(refID, expr, legend string, from, to time.Time, interval time.Duration) backend.DataQuery {
	model, _ := json.Marshal(map[string]any{"expr": expr, "legendFormat": legend, "range": true, "refId": refID})
	return backend.DataQuery{
		RefID: refID, JSON: model, Interval: interval, MaxDataPoints: 1000,
		TimeRange: backend.TimeRange{From: from, To: to},
	}
}

func TestPluginServesScrapedDataOverGRPC(t *testing.T) {
	tg := newTarget(t)
	cfg := writeConfig(t, "", tg.hostPort())
	pc := startPlugin(t, "GF_PLUGIN_CONFIG_FILE="+cfg, "GF_PLUGIN_DATA_DIR="+t.TempDir())

	health := pc.waitHealthy(t, 20*time.Second)
	if !strings.Contains(health.Message, "1 targets up, 0 down") {
		t.Errorf("health message %q does not report the target up", health.Message)
	}
	// Let a few scrapes land so that rate() has samples to work on.
	waitScrapes(t, tg, 5)

	now := time.Now()
	resp := pc.queryData(t,
		rangeQuery("A", "up", "", now.Add(-time.Minute), now, time.Second),
		rangeQuery("B", `sum by (job) (rate(e2e_requests_total[$__rate_interval]))`, "{{job}} rps", now.Add(-time.Minute), now, time.Second),
		rangeQuery("C", "sum(rate(", "", now.Add(-time.Minute), now, time.Second),
	)

	t.Run("up", func(t *testing.T) { checkUpFrames(t, resp.Responses["A"], tg.hostPort()) })
	t.Run("rate", func(t *testing.T) { checkRateFrames(t, resp.Responses["B"]) })
	t.Run("parse error stays per query", func(t *testing.T) {
		r := resp.Responses["C"]
		if r.Error == nil || !strings.Contains(r.Error.Error(), "1:10: parse error") {
			t.Fatalf("want a parse error naming its position, got %v", r.Error)
		}
		if r.Status != backend.StatusBadRequest {
			t.Errorf("status = %v, want 400", r.Status)
		}
	})
	t.Run("labels resource", func(t *testing.T) {
		status, body := pc.callResource(t, "api/v1/labels")
		if status != 200 {
			t.Fatalf("status %d: %s", status, body)
		}
		var env struct {
			Status string   `json:"status"`
			Data   []string `json:"data"`
		}
		if err := json.Unmarshal(body, &env); err != nil {
			t.Fatalf("decode %s: %v", body, err)
		}
		for _, want := range []string{"__name__", "instance", "job", "path"} {
			if !contains(env.Data, want) {
				t.Errorf("labels %v lack %q", env.Data, want)
			}
		}
	})
}

func waitScrapes(t *testing.T, tg *target, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		tg.mtx.Lock()
		done := tg.scrapes >= n
		tg.mtx.Unlock()
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("target scraped fewer than %d times in 30s", n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func checkUpFrames(t *testing.T, r backend.DataResponse, instance string) {
	if r.Error != nil {
		t.Fatalf("query error: %v", r.Error)
	}
	if len(r.Frames) != 1 {
		t.Fatalf("want 1 frame for up, got %d", len(r.Frames))
	}
	f := r.Frames[0]
	if f.Meta == nil || f.Meta.Type != data.FrameTypeTimeSeriesMulti {
		t.Fatalf("frame type = %+v, want timeseries-multi", f.Meta)
	}
	if len(f.Fields) != 2 || f.Fields[0].Name != "Time" || f.Fields[1].Name != "Value" {
		t.Fatalf("fields = %v, want Time and Value", fieldNames(f))
	}
	lbls := f.Fields[1].Labels
	if lbls["job"] != "e2e" || lbls["instance"] != instance || lbls["__name__"] != "up" {
		t.Errorf("labels = %v", lbls)
	}
	if f.Fields[1].Len() < 3 {
		t.Fatalf("only %d points", f.Fields[1].Len())
	}
	for i := 0; i < f.Fields[1].Len(); i++ {
		if v := f.Fields[1].At(i).(float64); v != 1 {
			t.Errorf("up[%d] = %v, want 1", i, v)
		}
	}
	// The step is the panel interval (1s) and every point sits on the grid.
	for i := 1; i < f.Fields[0].Len(); i++ {
		d := f.Fields[0].At(i).(time.Time).Sub(f.Fields[0].At(i - 1).(time.Time))
		if d != time.Second {
			t.Fatalf("points %d and %d are %v apart, want the 1s step", i-1, i, d)
		}
	}
	if f.Fields[0].Config == nil || f.Fields[0].Config.Interval != 1000 {
		t.Errorf("time field interval = %+v, want 1000ms", f.Fields[0].Config)
	}
	if !strings.Contains(f.Meta.ExecutedQueryString, "Step: 1s") {
		t.Errorf("executed query string %q", f.Meta.ExecutedQueryString)
	}
}

// checkRateFrames: the counters grow by 10 and 20 per 1s scrape, so the sum
// of their rates is 30/s (scrapes are not exactly 1s apart; allow 10%).
func checkRateFrames(t *testing.T, r backend.DataResponse) {
	if r.Error != nil {
		t.Fatalf("query error: %v", r.Error)
	}
	if len(r.Frames) != 1 {
		t.Fatalf("want 1 frame, got %d", len(r.Frames))
	}
	f := r.Frames[0]
	if got := f.Fields[1].Config; got == nil || got.DisplayNameFromDS != "e2e rps" {
		t.Errorf("displayNameFromDS = %+v, want %q", got, "e2e rps")
	}
	if f.Fields[1].Labels["job"] != "e2e" || len(f.Fields[1].Labels) != 1 {
		t.Errorf("labels = %v, want only job", f.Fields[1].Labels)
	}
	last := f.Fields[1].At(f.Fields[1].Len() - 1).(float64)
	if math.Abs(last-30) > 3 {
		t.Errorf("rate = %v, want about 30", last)
	}
}

func TestPluginReportsBadConfigInHealth(t *testing.T) {
	path := writeConfig(t, "", "127.0.0.1:1")
	if err := os.WriteFile(path, []byte("scrape_configs:\n  - job_name: x\n    scrape_interval: nope\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pc := startPlugin(t, "GF_PLUGIN_CONFIG_FILE="+path, "GF_PLUGIN_DATA_DIR="+t.TempDir())
	res := pc.checkHealth(t)
	if res.Status != backend.HealthStatusError || !strings.Contains(res.Message, "nope") {
		t.Fatalf("health = %v %q, want an error naming the bad value", res.Status, res.Message)
	}
	now := time.Now()
	resp := pc.queryData(t, rangeQuery("A", "up", "", now.Add(-time.Minute), now, time.Second))
	if resp.Responses["A"].Error == nil {
		t.Fatal("query on a core that did not start must fail")
	}
}

func TestPluginReportsDownTarget(t *testing.T) {
	dead := freePort(t) // nothing listens here
	pc := startPlugin(t, "GF_PLUGIN_CONFIG_FILE="+writeConfig(t, "", dead), "GF_PLUGIN_DATA_DIR="+t.TempDir())
	deadline := time.Now().Add(20 * time.Second)
	for {
		res := pc.checkHealth(t)
		if strings.Contains(res.Message, "0 targets up, 1 down") {
			if res.Status != backend.HealthStatusError {
				t.Errorf("status = %v, want error while a target is down", res.Status)
			}
			if !strings.Contains(string(res.JSONDetails), "connection refused") {
				t.Errorf("details %s do not give the reason", res.JSONDetails)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("target never reported down: %q", res.Message)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The range end is aligned down to the step, so the first scrape may
	// not be inside it yet: poll until it is.
	for {
		now := time.Now()
		resp := pc.queryData(t, rangeQuery("A", "up", "", now.Add(-time.Minute), now, time.Second))
		f := resp.Responses["A"].Frames
		if len(f) == 1 && len(f[0].Fields) == 2 && f[0].Fields[1].Len() > 0 {
			if v := f[0].Fields[1].At(f[0].Fields[1].Len() - 1).(float64); v != 0 {
				t.Fatalf("up for a down target = %v, want 0", v)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no up series for the down target: %s", frameValues(f))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func fieldNames(f *data.Frame) []string {
	var n []string
	for _, fl := range f.Fields {
		n = append(n, fl.Name)
	}
	return n
}

func frameValues(fs data.Frames) string {
	var b strings.Builder
	for _, f := range fs {
		if len(f.Fields) > 1 {
			for i := 0; i < f.Fields[1].Len(); i++ {
				fmt.Fprintf(&b, "%v ", f.Fields[1].At(i))
			}
		}
	}
	return b.String()
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
