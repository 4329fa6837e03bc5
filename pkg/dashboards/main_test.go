package main

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// generate runs the command into a fresh folder and returns its files.
func generate(t *testing.T, args ...string) (string, map[string][]byte) {
	t.Helper()
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	if err := run(append([]string{"-out", dir}, args...), &out, &errOut); err != nil {
		t.Fatalf("run: %v\n%s", err, errOut.String())
	}
	return dir, readTree(t, dir)
}

func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		b, err := os.ReadFile(p)
		files[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestOutputIsDeterministicAndChecks(t *testing.T) {
	mixinDir := filepath.Join("mixin", "testdata", "node-mixin")
	_, a := generate(t, "-check", "-mixin", mixinDir)
	_, b := generate(t, "-check", "-mixin", mixinDir)
	if len(a) != len(b) || len(a) < 15 {
		t.Fatalf("runs wrote %d and %d files", len(a), len(b))
	}
	for name, content := range a {
		if !bytes.Equal(content, b[name]) {
			t.Errorf("%s differs between two runs", name)
		}
	}
}

// TestGolden pins the committed provisioning/ folder: it must be what the
// command writes. After an intended change: go run ./pkg/dashboards.
func TestGolden(t *testing.T) {
	_, got := generate(t)
	root := filepath.Join("..", "..", "provisioning")
	for name, content := range got {
		want, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(name)))
		if err != nil {
			t.Errorf("%s: not committed: %v", name, err)
			continue
		}
		if !bytes.Equal(want, content) {
			t.Errorf("%s: committed file differs from the generated one; run go run ./pkg/dashboards", name)
		}
	}
	// And nothing generated-looking is left over from an earlier version.
	for _, sub := range []string{"dashboards", "alerting", "rules"} {
		entries, _ := os.ReadDir(filepath.Join(root, sub))
		for _, e := range entries {
			if !e.IsDir() && got[sub+"/"+e.Name()] == nil {
				t.Errorf("%s/%s is committed but no longer generated", sub, e.Name())
			}
		}
	}
}

func TestBadFlagsWriteNothing(t *testing.T) {
	for _, args := range [][]string{
		{"-datasource-uid", "bad uid: x"},
		{"-mixin", "does-not-exist"},
		{"-mixin", filepath.Join("mixin", "testdata", "broken")},
		{"stray"},
	} {
		dir := t.TempDir()
		var out, errOut bytes.Buffer
		if err := run(append([]string{"-out", dir}, args...), &out, &errOut); err == nil {
			t.Errorf("%v: no error", args)
		}
		if files := readTree(t, dir); len(files) > 0 {
			t.Errorf("%v: wrote %d files despite the error", args, len(files))
		}
	}
}

func TestDatasourceUID(t *testing.T) {
	_, files := generate(t, "-datasource-uid", "my-graft")
	if !bytes.Contains(files["datasources/graft.yaml"], []byte("uid: my-graft")) {
		t.Error("datasource uid not applied to the datasource")
	}
	if !bytes.Contains(files["alerting/service-demo.yaml"], []byte("datasourceUid: my-graft")) {
		t.Error("datasource uid not applied to the alert rules")
	}
}

// promtool is Prometheus's own checker (Debian's prometheus package);
// GRAFT_REQUIRE_PROMTOOL=1 (make test) turns its absence into a failure.
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("GRAFT_REQUIRE_PROMTOOL") != "" {
			t.Fatal("promtool not found (install Debian's prometheus package)")
		}
		t.Skip("promtool not installed")
	}
	return p
}

func TestPromtoolCheckAndTestRules(t *testing.T) {
	pt := promtool(t)
	dir, files := generate(t, "-mixin", filepath.Join("mixin", "testdata", "node-mixin"))
	var ruleFiles []string
	for name := range files {
		if strings.HasPrefix(name, "rules/") {
			ruleFiles = append(ruleFiles, filepath.Join(dir, name))
		}
	}
	if out, err := exec.Command(pt, append([]string{"check", "rules"}, ruleFiles...)...).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	// The hand-written unit tests run against the freshly generated files.
	tests, err := filepath.Glob(filepath.Join("..", "..", "provisioning", "rules", "tests", "*.yaml"))
	if err != nil || len(tests) == 0 {
		t.Fatalf("no promtool unit tests found: %v", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "rules", "tests"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, src := range tests {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, "rules", "tests", filepath.Base(src))
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(pt, "test", "rules", dst).CombinedOutput(); err != nil {
			t.Errorf("promtool test rules %s: %v\n%s", filepath.Base(src), err, out)
		}
	}
}
