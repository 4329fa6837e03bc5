package core

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/graftlabs/graft/pkg/promql"
)

// A counter that restarts and climbs past its old value between two
// scrapes shows no reset in its values, only in its _created line. With
// graft.start_timestamps the core stores it and resets() counts the
// restart; without, it does not.
func TestStartTimestampsReachTheEngine(t *testing.T) {
	for _, enabled := range []bool{true, false} {
		var (
			mtx     sync.Mutex
			scrapes int
			// restart is just after the first scrape started and before
			// the second did (scrapes are 100ms apart): unix seconds.
			restart float64
		)
		created := float64(time.Now().Add(-time.Hour).Unix())
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			mtx.Lock()
			defer mtx.Unlock()
			scrapes++
			value, since := 10.0, created
			if scrapes == 1 {
				restart = float64(time.Now().UnixMilli()+1) / 1000
			} else {
				value, since = 20, restart
			}
			w.Header().Set("Content-Type", "application/openmetrics-text; version=1.0.0; charset=utf-8")
			fmt.Fprintf(w, "# TYPE c counter\nc_total %g\nc_created %.3f\n# EOF\n", value, since)
		}))
		defer srv.Close()
		path := filepath.Join(t.TempDir(), "graft.yml")
		writeFile(t, path, fmt.Sprintf("graft:\n  start_timestamps: %v\n", enabled)+configFor(srv.Listener.Addr().String()))
		c := startCore(t, path)
		waitFor(t, "three scrapes", func() bool {
			mtx.Lock()
			defer mtx.Unlock()
			return scrapes >= 3
		})
		time.Sleep(200 * time.Millisecond) // the third scrape's commit
		q, err := c.Engine().NewInstantQuery(c.Queryable(), "resets(c_total[1h])", time.Now(), promql.QueryOpts{})
		if err != nil {
			t.Fatal(err)
		}
		res, err := q.Exec(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		v, ok := res.Value.(promql.Vector)
		if !ok || len(v) != 1 {
			t.Fatalf("start_timestamps %v: resets gave %v", enabled, res.Value)
		}
		want := 0.0
		if enabled {
			want = 1
		}
		if v[0].F != want {
			t.Errorf("start_timestamps %v: %g resets, want %g", enabled, v[0].F, want)
		}
		res.Close()
	}
}
