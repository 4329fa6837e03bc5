package config_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/discovery"

	graft "github.com/graftlabs/graft"
	"github.com/graftlabs/graft/pkg/config"
)

func load(t *testing.T, yml string) *config.Config {
	t.Helper()
	c, err := config.Load([]byte(yml), t.TempDir(), nil)
	if err != nil {
		t.Fatalf("Load: %v\n%s", err, yml)
	}
	return c
}

func loadErr(t *testing.T, yml string) error {
	t.Helper()
	_, err := config.Load([]byte(yml), t.TempDir(), nil)
	if err == nil {
		t.Fatalf("Load succeeded, want an error:\n%s", yml)
	}
	return err
}

func jobNames(c *config.Config) []string {
	var out []string
	for _, sc := range c.ScrapeConfigs {
		out = append(out, sc.JobName)
	}
	return out
}

func TestGraftSectionParsed(t *testing.T) {
	c := load(t, `global:
  scrape_interval: 20s
graft:
  web:
    listen_address: 127.0.0.1:1234
  storage:
    retention: 36h
scrape_configs:
  - job_name: a
    static_configs:
      - targets: ["127.0.0.1:9100"]
`)
	if c.Graft.Web.ListenAddress != "127.0.0.1:1234" {
		t.Errorf("listen_address = %q", c.Graft.Web.ListenAddress)
	}
	if c.Graft.Storage.Retention != model.Duration(36*time.Hour) {
		t.Errorf("retention = %s", c.Graft.Storage.Retention)
	}
	if got := time.Duration(c.Prometheus.GlobalConfig.ScrapeInterval); got != 20*time.Second {
		t.Errorf("global scrape_interval = %s", got)
	}
	if !slices.Equal(jobNames(c), []string{"a"}) {
		t.Fatalf("jobs = %v", jobNames(c))
	}
	// The job inherits the global interval and Prometheus's defaults.
	sc := c.ScrapeConfigs[0]
	if time.Duration(sc.ScrapeInterval) != 20*time.Second || sc.MetricsPath != "/metrics" || sc.Scheme != "http" || !sc.HonorTimestamps {
		t.Errorf("scrape config defaults not applied: %+v", sc)
	}
	if c.Source != "embedded default" || len(c.Warnings) != 0 {
		t.Errorf("Source %q Warnings %v", c.Source, c.Warnings)
	}
}

func TestDefaults(t *testing.T) {
	for name, yml := range map[string]string{
		"empty file":          "",
		"no graft section":    "global:\n  scrape_interval: 15s\n",
		"empty graft section": "graft:\nglobal:\n  scrape_interval: 15s\n",
		"only storage.web":    "graft:\n  web:\n    listen_address: ''\n",
	} {
		t.Run(name, func(t *testing.T) {
			c := load(t, yml)
			if c.Graft.Storage.Retention != config.DefaultRetention {
				t.Errorf("retention = %s, want the default", c.Graft.Storage.Retention)
			}
			if c.Graft.Web.ListenAddress != "" {
				t.Errorf("listen_address = %q", c.Graft.Web.ListenAddress)
			}
			if c.Prometheus == nil || len(c.ScrapeConfigs) != 0 {
				t.Errorf("Prometheus %v, jobs %v", c.Prometheus, jobNames(c))
			}
		})
	}
	if config.DefaultRetention != model.Duration(15*24*time.Hour) {
		t.Fatalf("DefaultRetention = %s, want 15d", config.DefaultRetention)
	}
	// Setting only web keeps the default retention.
	c := load(t, "graft:\n  web:\n    listen_address: 127.0.0.1:1\n")
	if c.Graft.Storage.Retention != config.DefaultRetention {
		t.Fatalf("retention = %s", c.Graft.Storage.Retention)
	}
}

func TestStorageOptions(t *testing.T) {
	c := load(t, "graft:\n  storage:\n    retention_size: 512MB\n    out_of_order_time_window: 30m\n    downsampling: false\n    downsample_5m_after: 2d\n")
	st := c.Graft.Storage
	if st.RetentionSize != 512<<20 || st.OutOfOrderTimeWindow != model.Duration(30*time.Minute) || st.DownsamplingEnabled() ||
		st.Downsample5mAfter != model.Duration(48*time.Hour) {
		t.Fatalf("storage options %+v", st)
	}
	if d := load(t, "graft:\n  storage:\n    retention: 1d\n").Graft.Storage; !d.DownsamplingEnabled() || d.RetentionSize != 0 {
		t.Fatalf("defaults %+v", d)
	}
	for in, want := range map[string]int64{"0": 0, "100": 100, "1KB": 1024, "2 GB": 2 << 30, "1tb": 1 << 40} {
		if got, err := config.ParseByteSize(in); err != nil || int64(got) != want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"-1GB", "1XB", "GB", "1.5GB", "99999999EB"} {
		if _, err := config.ParseByteSize(bad); err == nil {
			t.Errorf("ParseByteSize(%q) accepted", bad)
		}
	}
	err := loadErr(t, "graft:\n  storage:\n    retention_size: lots\n")
	if !strings.Contains(err.Error(), "lots") {
		t.Errorf("error does not name the bad size: %v", err)
	}
	loadErr(t, "graft:\n  storage:\n    downsample_5m_after: 20d\n    downsample_1h_after: 10d\n")
}

func TestInvalidRetention(t *testing.T) {
	for _, v := range []string{"0s", "0", "-1d", "abc", "1x", "[1]"} {
		t.Run(v, func(t *testing.T) {
			err := loadErr(t, "graft:\n  storage:\n    retention: "+v+"\n")
			if !strings.Contains(err.Error(), "retention") && !strings.Contains(err.Error(), "graft") {
				t.Errorf("error does not say what is wrong: %v", err)
			}
		})
	}
}

func TestGraftSectionErrors(t *testing.T) {
	for name, yml := range map[string]string{
		"graft is a list":            "graft: [1, 2]\n",
		"web is a scalar":            "graft:\n  web: yes\n",
		"unknown key in graft":       "graft:\n  storage:\n    retension: 30d\n",
		"unknown subsection":         "graft:\n  stroage:\n    retention: 30d\n",
		"invalid YAML":               "graft:\n  storage: [\n",
		"graft defined twice":        "graft:\n  web: {}\ngraft:\n  web: {}\n",
		"unknown key in web section": "graft:\n  web:\n    listen: 127.0.0.1:1\n",
	} {
		t.Run(name, func(t *testing.T) {
			loadErr(t, yml)
		})
	}
}

// The graft section is blanked line by line, so the errors Prometheus
// reports for what follows point at the right line of the file.
func TestLineNumbersKeptAfterGraftSection(t *testing.T) {
	lineRe := regexp.MustCompile(`line (\d+)`)
	for name, tc := range map[string]struct {
		yml  string
		line string
	}{
		"error after graft section": {`global:
  scrape_interval: 15s
graft:
  web:
    listen_address: 127.0.0.1:9091
  # a comment inside
  storage:
    retention: 15d

scrape_configs:
  - job_name: a
    bogus_field: 1
`, "12"},
		"graft section first, unknown top-level key": {`graft:
  storage:
    retention: 1d
unknown_key: 1
`, "4"},
		"graft in flow style": {`graft: {storage: {retention: 1d}}
global:
  not_a_field: 1
`, "3"},
		"CRLF line endings": {"graft:\r\n  storage:\r\n    retention: 1d\r\nscrape_configs:\r\n  - job_name: a\r\n    nope: 1\r\n", "6"},
		"error before graft section": {`global:
  scrape_intervall: 15s
graft:
  storage:
    retention: 1d
`, "2"},
	} {
		t.Run(name, func(t *testing.T) {
			err := loadErr(t, tc.yml)
			m := lineRe.FindStringSubmatch(err.Error())
			if m == nil || m[1] != tc.line {
				t.Fatalf("error %q, want it at line %s", err, tc.line)
			}
		})
	}
}

func TestUnknownTopLevelKeyRefused(t *testing.T) {
	err := loadErr(t, "global:\n  scrape_interval: 15s\nscrape_config:\n  - job_name: typo\n")
	if !strings.Contains(err.Error(), "scrape_config") {
		t.Fatalf("error does not name the key: %v", err)
	}
}

func TestPrometheusValidationApplies(t *testing.T) {
	for name, yml := range map[string]string{
		"timeout above interval": `scrape_configs:
  - job_name: a
    scrape_interval: 1s
    scrape_timeout: 2s
    static_configs:
      - targets: ["127.0.0.1:1"]
`,
		"duplicate job": `scrape_configs:
  - job_name: a
    static_configs: [{targets: ["127.0.0.1:1"]}]
  - job_name: a
    static_configs: [{targets: ["127.0.0.1:2"]}]
`,
		"bad relabel regex": `scrape_configs:
  - job_name: a
    relabel_configs:
      - regex: "("
        action: drop
`,
	} {
		t.Run(name, func(t *testing.T) { loadErr(t, yml) })
	}
}

func TestUnsupportedSectionsWarn(t *testing.T) {
	c := load(t, `rule_files: ["rules/*.yml"]
remote_write:
  - url: http://127.0.0.1:9999/api/v1/write
remote_read:
  - url: http://127.0.0.1:9999/api/v1/read
alerting:
  alertmanagers:
    - static_configs:
        - targets: ["127.0.0.1:9093"]
scrape_configs:
  - job_name: static
    static_configs:
      - targets: ["127.0.0.1:9100"]
`)
	// rule_files and alerting (pkg/rules) and remote_write (pkg/remote) are
	// acted on: no warning for them.
	want := []string{"remote_read"}
	for _, w := range want {
		found := slices.ContainsFunc(c.Warnings, func(s string) bool { return strings.Contains(s, w) })
		if !found {
			t.Errorf("no warning mentioning %q in %q", w, c.Warnings)
		}
	}
	if len(c.Warnings) != len(want) {
		t.Errorf("%d warnings, want %d: %q", len(c.Warnings), len(want), c.Warnings)
	}
	for _, w := range c.Warnings {
		if strings.Contains(w, `"static"`) {
			t.Errorf("static job warned about: %q", w)
		}
	}
	if !slices.Equal(jobNames(c), []string{"static"}) {
		t.Fatalf("jobs = %v", jobNames(c))
	}
}

// file, http, dns, consul and kubernetes discovery are built in; others
// (here ec2) are unknown fields: the file does not load and says where.
func TestServiceDiscoveryMechanisms(t *testing.T) {
	c := load(t, `scrape_configs:
  - job_name: files
    file_sd_configs:
      - files: ["targets/*.json"]
  - job_name: dns
    dns_sd_configs:
      - names: ["_metrics._tcp.example.org"]
  - job_name: k8s
    kubernetes_sd_configs:
      - role: pod
`)
	if !slices.Equal(jobNames(c), []string{"files", "dns", "k8s"}) {
		t.Fatalf("jobs = %v", jobNames(c))
	}
	err := loadErr(t, `scrape_configs:
  - job_name: cloud
    ec2_sd_configs:
      - region: eu-west-1
`)
	if !strings.Contains(err.Error(), "ec2_sd_configs") || !strings.Contains(err.Error(), "line 3") {
		t.Fatalf("error %q does not name the field and line", err)
	}
}

// Errors inside the graft section name the line in the file too.
func TestGraftSectionErrorLine(t *testing.T) {
	err := loadErr(t, `global:
  scrape_interval: 15s

graft:
  web:
    listen_address: 127.0.0.1:1
  storage:
    retension: 30d
scrape_configs: []
`)
	if !strings.Contains(err.Error(), "line 8") || !strings.Contains(err.Error(), "retension") {
		t.Fatalf("err = %v, want line 8 and the key", err)
	}
}

func TestScrapeConfigFilesRelativeToFile(t *testing.T) {
	path, err := filepath.Abs(filepath.Join("testdata", "main.yml"))
	if err != nil {
		t.Fatal(err)
	}
	// Run from elsewhere: resolution must not depend on the working directory.
	t.Chdir(t.TempDir())
	c, err := config.LoadFile(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := jobNames(c)
	slices.Sort(got)
	if want := []string{"from-a", "from-b", "from-more", "inline"}; !slices.Equal(got, want) {
		t.Fatalf("jobs = %v, want %v", got, want)
	}
	if c.Source != path {
		t.Errorf("Source = %q", c.Source)
	}
	if c.Graft.Storage.Retention != model.Duration(48*time.Hour) {
		t.Errorf("retention = %s", c.Graft.Storage.Retention)
	}
	for _, sc := range c.ScrapeConfigs {
		switch sc.JobName {
		case "from-a":
			// Paths inside an included file are relative to that file.
			want := filepath.Join(filepath.Dir(path), "scrape", "token")
			if got := sc.HTTPClientConfig.Authorization.CredentialsFile; got != want {
				t.Errorf("credentials_file = %q, want %q", got, want)
			}
			if time.Duration(sc.ScrapeInterval) != 30*time.Second {
				t.Errorf("included job did not inherit the global interval: %s", sc.ScrapeInterval)
			}
		case "from-b":
			if time.Duration(sc.ScrapeInterval) != 5*time.Second {
				t.Errorf("from-b interval = %s", sc.ScrapeInterval)
			}
		}
		if len(sc.ServiceDiscoveryConfigs) != 1 {
			t.Errorf("job %s has %d SD configs", sc.JobName, len(sc.ServiceDiscoveryConfigs))
			continue
		}
		if _, ok := sc.ServiceDiscoveryConfigs[0].(discovery.StaticConfig); !ok {
			t.Errorf("job %s: SD %T", sc.JobName, sc.ServiceDiscoveryConfigs[0])
		}
	}

	// A relative path given to LoadFile works the same.
	t.Chdir(filepath.Dir(path))
	c2, err := config.LoadFile("main.yml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(c2.ScrapeConfigs) != 4 {
		t.Fatalf("relative path: jobs %v", jobNames(c2))
	}
}

func TestScrapeConfigFilesErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("dup.yml", "scrape_configs:\n  - job_name: main\n    static_configs: [{targets: ['127.0.0.1:1']}]\n")
	p := write("main.yml", "scrape_config_files: [dup.yml]\nscrape_configs:\n  - job_name: main\n    static_configs: [{targets: ['127.0.0.1:2']}]\n")
	if _, err := config.LoadFile(p, nil); err == nil || !strings.Contains(err.Error(), "main") {
		t.Fatalf("duplicate job across files: err = %v", err)
	}
	write("broken.yml", "scrape_configs:\n  - job_name: x\n    nope: 1\n")
	p = write("main2.yml", "scrape_config_files: [broken.yml]\n")
	if _, err := config.LoadFile(p, nil); err == nil {
		t.Fatal("broken included file accepted")
	}
}

func TestLoadFileErrors(t *testing.T) {
	if _, err := config.LoadFile(filepath.Join(t.TempDir(), "missing.yml"), nil); err == nil {
		t.Fatal("missing file accepted")
	}
	p := filepath.Join(t.TempDir(), "bad.yml")
	if err := os.WriteFile(p, []byte("graft:\n  storage:\n    retention: 0s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := config.LoadFile(p, nil)
	if err == nil || !strings.Contains(err.Error(), p) {
		t.Fatalf("err = %v, want it to name the file", err)
	}
}

func TestHash(t *testing.T) {
	a := load(t, "global:\n  scrape_interval: 15s\n")
	b := load(t, "global:\n  scrape_interval: 15s\n")
	c := load(t, "global:\n  scrape_interval: 16s\n")
	d := load(t, "graft:\n  storage:\n    retention: 1d\nglobal:\n  scrape_interval: 15s\n")
	if a.Hash == "" || a.Hash != b.Hash {
		t.Fatalf("same content, hashes %q %q", a.Hash, b.Hash)
	}
	if a.Hash == c.Hash || a.Hash == d.Hash {
		t.Fatal("different content, same hash (the graft section counts too)")
	}
}

func TestEmbeddedDefaultConfigLoads(t *testing.T) {
	c, err := config.Load(graft.DefaultConfig, ".", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Graft.Storage.Retention != config.DefaultRetention {
		t.Errorf("retention = %s", c.Graft.Storage.Retention)
	}
	if c.Graft.Web.ListenAddress == "" {
		t.Error("the default config has no listen address")
	}
	got := jobNames(c)
	if !slices.Contains(got, "graft") || !slices.Contains(got, "demo") {
		t.Errorf("jobs = %v", got)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("the default config has warnings: %v", c.Warnings)
	}
	for _, sc := range c.ScrapeConfigs {
		if sc.ScrapeTimeout > sc.ScrapeInterval || sc.ScrapeInterval <= 0 {
			t.Errorf("job %s: interval %s timeout %s", sc.JobName, sc.ScrapeInterval, sc.ScrapeTimeout)
		}
	}
	// It is the file in provisioning/, byte for byte.
	onDisk, err := os.ReadFile(filepath.Join("..", "..", "provisioning", "graft.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if string(onDisk) != string(graft.DefaultConfig) {
		t.Error("embedded default differs from provisioning/graft.yml")
	}
}

// The default config loads the rule files that `go run ./pkg/dashboards`
// writes beside it.
func TestDefaultConfigRuleFiles(t *testing.T) {
	c, err := config.LoadFile(filepath.Join("..", "..", "provisioning", "graft.yml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Prometheus.RuleFiles) == 0 {
		t.Fatal("the default config lists no rule files")
	}
	for _, pat := range c.Prometheus.RuleFiles {
		files, err := filepath.Glob(pat)
		if err != nil || len(files) == 0 {
			t.Errorf("rule_files pattern %s matches nothing (%v)", pat, err)
		}
	}
}
