package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/graftlabs/graft/pkg/dashboards/lint"
)

// The example runs and its output passes the same checks as Graft's own.
func TestExample(t *testing.T) {
	dir := t.TempDir()
	os.Args = []string{"custom-service", "-out", dir}
	main()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"dashboards/graft-red-shop.json", "dashboards/shop-checkout.json", "rules/shop.yaml", "alerting/shop.yaml"} {
		if _, err := os.Stat(filepath.Join(dir, want)); err != nil {
			t.Errorf("%s not written", want)
		}
	}
	problems, err := lint.CheckDir(dir, files)
	if err != nil {
		t.Fatal(err)
	}
	if len(lint.Errors(problems)) > 0 {
		t.Fatalf("problems: %v", problems)
	}
	if pt, err := exec.LookPath("promtool"); err == nil {
		rules, _ := filepath.Glob(filepath.Join(dir, "rules", "*.yaml"))
		if out, err := exec.Command(pt, append([]string{"check", "rules"}, rules...)...).CombinedOutput(); err != nil {
			t.Fatalf("promtool: %v\n%s", err, out)
		}
	}
}
