package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/api"
	"github.com/graftlabs/graft/pkg/promql"
	"github.com/graftlabs/graft/pkg/storage"
	"github.com/graftlabs/graft/pkg/storage/tsdb"
)

func TestAdminDisabled(t *testing.T) {
	s := newServer(t)
	for _, path := range []string{"/api/v1/admin/tsdb/snapshot", "/api/v1/admin/tsdb/delete_series", "/api/v1/admin/tsdb/clean_tombstones"} {
		s.post(path, nil).failure(t, http.StatusServiceUnavailable, "unavailable", "admin APIs disabled")
	}
}

// A snapshot through the API opens as a database of its own holding the
// head's samples, or none of them with skip_head.
func TestAdminSnapshot(t *testing.T) {
	dir := t.TempDir()
	db, err := tsdb.Open(filepath.Join(dir, "data"), tsdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	app := db.Appender(context.Background())
	lset := labels.FromStrings("__name__", "up", "job", "a")
	for i := range 10 {
		if _, err := app.Append(0, lset, int64(i)*15_000, 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	snapDir := filepath.Join(dir, "data", "snapshots")
	a := &api.API{Storage: db, Engine: promql.NewEngine(promql.EngineOpts{}), Admin: &api.Admin{
		Snapshots: db, Dir: snapDir, Now: func() time.Time { return time.Date(2026, 11, 22, 3, 4, 5, 0, time.UTC) },
	}}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	s := &server{t: t, url: srv.URL}

	for skipHead, want := range map[string]int{"false": 10, "true": 0} {
		var got struct{ Name string }
		if err := json.Unmarshal(s.post("/api/v1/admin/tsdb/snapshot", params("skip_head", skipHead)).success(t).Data, &got); err != nil {
			t.Fatal(err)
		}
		if len(got.Name) != len("20261122T030405Z-")+16 || got.Name[:17] != "20261122T030405Z-" {
			t.Errorf("snapshot name %q", got.Name)
		}
		if n := countSamples(t, filepath.Join(snapDir, got.Name)); n != want {
			t.Errorf("skip_head=%s: snapshot holds %d samples, want %d", skipHead, n, want)
		}
	}
	s.post("/api/v1/admin/tsdb/snapshot", params("skip_head", "maybe")).failure(t, http.StatusBadRequest, "bad_data", "skip_head")
	s.post("/api/v1/admin/tsdb/delete_series", nil).failure(t, http.StatusServiceUnavailable, "unavailable", "retention")
}

func countSamples(t *testing.T, dir string) int {
	t.Helper()
	db, err := tsdb.Open(dir, tsdb.Options{})
	if err != nil {
		t.Fatalf("open snapshot: %v", err)
	}
	defer db.Close()
	q, err := db.Querier(0, 1<<62)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	set := q.Select(context.Background(), &storage.SelectHints{Start: 0, End: 1 << 62}, labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+"))
	n := 0
	for set.Next() {
		it := set.At().Iterator(nil)
		for it.Next() != storage.ValNone {
			n++
		}
	}
	if err := set.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}
