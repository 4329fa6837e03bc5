package tsdb

import (
	"bufio"
	"context"
	"encoding/json"
	"strconv"

	"github.com/prometheus/prometheus/model/labels"
	"os"
	"runtime"
	"runtime/pprof"
	"testing"

	"github.com/graftlabs/graft/pkg/storage"
)

// TestHeadHeapProfile writes a heap profile of a head of 20,000 series
// with 120 samples each when GRAFT_HEAP_PROFILE names a file.
func TestHeadHeapProfile(t *testing.T) {
	path := os.Getenv("GRAFT_HEAP_PROFILE")
	if path == "" {
		t.Skip("GRAFT_HEAP_PROFILE not set")
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	db := openBlocksTest(t, t.TempDir(), func(o *Options) { o.BlockRange = 24 * 3600_000 * 1e6 })
	defer db.Close()
	lsets := benchSeries(20_000)
	if real := os.Getenv("GRAFT_20KSERIES"); real != "" {
		lsets = load20k(t, real)
	}
	refs := make([]storage.SeriesRef, len(lsets))
	for r := range 120 {
		for lo := 0; lo < len(lsets); lo += 1000 { // one commit per target of 1,000 series
			app := db.Appender(context.Background())
			for i := lo; i < lo+1000; i++ {
				refs[i], _ = app.Append(refs[i], lsets[i], int64(r)*15000, float64(r*(i%97+1)))
			}
			if err := app.Commit(); err != nil {
				t.Fatal(err)
			}
		}
	}
	runtime.GC()
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	t.Logf("heap per series: %d bytes", (after.HeapAlloc-before.HeapAlloc)/uint64(len(lsets)))
	f, _ := os.Create(path)
	pprof.WriteHeapProfile(f)
	f.Close()
}

func load20k(t *testing.T, path string) []labels.Labels {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []labels.Labels
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := map[string]string{}
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		b := labels.NewBuilder(labels.FromMap(m))
		b.Set("replica", "0")
		b.Set("shard", strconv.Itoa(len(out)%10))
		out = append(out, b.Labels())
	}
	return out
}
