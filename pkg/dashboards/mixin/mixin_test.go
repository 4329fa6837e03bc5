package mixin

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/graftlabs/graft/pkg/dashboards/monitoring"
)

func TestLoadNodeMixin(t *testing.T) {
	m, err := Load("testdata/node-mixin")
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "node" || len(m.Dashboards) != 1 || len(m.Alerts.Groups) != 1 || len(m.Rules.Groups) != 1 {
		t.Fatalf("mixin %s: %d dashboards, %d alert groups, %d rule groups", m.Name, len(m.Dashboards), len(m.Alerts.Groups), len(m.Rules.Groups))
	}
	// _config reaches the rules through Jsonnet's late binding.
	if got := m.Rules.Groups[0].Rules[1].Record; got != "instance:node_cpu_utilisation:rate5m" {
		t.Errorf("record = %s", got)
	}
	b := monitoring.NewBundle(monitoring.Options{DatasourceUID: "g1"})
	if err := m.AddTo(b); err != nil {
		t.Fatal(err)
	}
	files, err := b.Files()
	if err != nil {
		t.Fatal(err)
	}
	js := files["dashboards/mixin-node-node-overview.json"]
	if js == nil {
		t.Fatalf("no dashboard file; files: %v", len(files))
	}
	if strings.Contains(string(js), `"prometheus"`) {
		t.Errorf("dashboard still refers to prometheus:\n%s", js)
	}
	if files["rules/mixin-node-alerts.yaml"] == nil || files["rules/mixin-node-rules.yaml"] == nil {
		t.Error("rule files missing")
	}
}

func TestPointAtGraft(t *testing.T) {
	d := map[string]any{
		"templating": map[string]any{"list": []any{map[string]any{"type": "datasource", "query": "prometheus"}}},
		"panels": []any{
			map[string]any{"datasource": "Prometheus"},
			map[string]any{"datasource": "$datasource"},
			map[string]any{"datasource": "-- Grafana --"},
			map[string]any{"datasource": map[string]any{"type": "prometheus", "uid": "P123"}},
			map[string]any{"datasource": map[string]any{"type": "loki", "uid": "L"}},
		},
	}
	PointAtGraft(d, "graft")
	got, _ := json.Marshal(d)
	want := `{"panels":[{"datasource":{"type":"graftlabs-graft-datasource","uid":"graft"}},` +
		`{"datasource":{"type":"graftlabs-graft-datasource","uid":"$datasource"}},{"datasource":"-- Grafana --"},` +
		`{"datasource":{"type":"graftlabs-graft-datasource","uid":"graft"}},{"datasource":{"type":"loki","uid":"L"}}],` +
		`"templating":{"list":[{"query":"graftlabs-graft-datasource","type":"datasource"}]}}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestLoadErrors(t *testing.T) {
	for _, p := range []string{"testdata/missing", "testdata/broken"} {
		if _, err := Load(p); err == nil {
			t.Errorf("%s: no error", p)
		}
	}
}
