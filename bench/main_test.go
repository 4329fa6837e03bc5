package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func TestRunPrintsJSONRows(t *testing.T) {
	register("fake", func(_ context.Context, o Options) ([]Result, error) {
		if !o.Quick || o.Dir == "" {
			t.Errorf("options not passed: %+v", o)
		}
		return []Result{{Name: "x", Unit: "ops/s", Graft: 2, Prometheus: 1, Better: "higher"}}, nil
	})
	defer delete(suites, "fake")
	var out, errs bytes.Buffer
	if err := run(context.Background(), []string{"-suite", "fake", "-json", "-quick"}, &out, &errs); err != nil {
		t.Fatal(err)
	}
	var rows []map[string]any
	if err := json.Unmarshal(out.Bytes(), &rows); err != nil {
		t.Fatalf("not JSON: %s", out.String())
	}
	if len(rows) != 1 || rows[0]["name"] != "x" || rows[0]["better"] != "higher" || rows[0]["graft"] != 2.0 {
		t.Errorf("rows = %v", rows)
	}
	out.Reset()
	if err := run(context.Background(), []string{"-suite", "fake", "-quick"}, &out, &errs); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "2.00") {
		t.Errorf("table lacks the ratio: %s", out.String())
	}
	if err := run(context.Background(), []string{"-suite", "nope"}, &out, &errs); err == nil {
		t.Error("unknown suite accepted")
	}
}
