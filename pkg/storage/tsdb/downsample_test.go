package tsdb

import (
	"context"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/storage"
)

// selectWith reads every float sample of one series with hints.
func selectWith(t *testing.T, db *DB, hints *storage.SelectHints, m *labels.Matcher) []sample {
	t.Helper()
	q, err := db.Querier(math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	ss := q.Select(context.Background(), hints, m)
	var out []sample
	for ss.Next() {
		it := ss.At().Iterator(nil)
		for it.Next() == storage.ValFloat {
			ts, v := it.At()
			out = append(out, sample{ts, v})
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := ss.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// increase is what PromQL's increase adds up over samples: the deltas,
// a drop counting as a reset from zero.
func increase(s []sample) float64 {
	inc := 0.0
	for i := 1; i < len(s); i++ {
		if d := s[i].v - s[i-1].v; d >= 0 {
			inc += d
		} else {
			inc += s[i].v
		}
	}
	return inc
}

type window struct {
	lastT                int64
	count, sum, min, max float64
}

// windows aggregates raw samples the way the test expects downsampling to.
func windows(raw []sample, res, before int64) []window {
	var out []window
	for _, s := range raw {
		if s.t >= before {
			break
		}
		if len(out) == 0 || alignDown(s.t, res) != alignDown(out[len(out)-1].lastT, res) {
			out = append(out, window{min: math.Inf(1), max: math.Inf(-1)})
		}
		w := &out[len(out)-1]
		w.lastT = s.t
		w.count++
		w.sum += s.v
		w.min, w.max = math.Min(w.min, s.v), math.Max(w.max, s.v)
	}
	return out
}

// Old blocks get 5m and 1h copies; selects that accept a resolution read
// the aggregate their function needs, and the counter keeps increases.
func TestDownsampling(t *testing.T) {
	dir := t.TempDir()
	opts := func(o *Options) {
		o.BlockRange, o.MaxBlockDuration = 2*time.Hour, 6*time.Hour
		o.Downsample5mAfter, o.Downsample1hAfter = 12*time.Hour, 24*time.Hour
	}
	db := openBlocksTest(t, dir, opts)
	counter := labels.FromStrings("__name__", "requests_total")
	gauge := labels.FromStrings("__name__", "temperature")
	var rawC, rawG []sample
	c := 0.0
	const step = 15_000
	for ts := int64(0); ts < 48*hour; ts += step {
		c += float64(ts/step%7 + 1)
		if ts%(5*hour+17*step) == 0 && ts > 0 {
			c = 3 // a restart of the process: the counter resets
		}
		g := math.Round(20+5*math.Sin(float64(ts)/float64(hour))*100) / 100
		app := db.Appender(context.Background())
		app.Append(0, counter, ts, c)
		app.Append(0, gauge, ts, g)
		if err := app.Commit(); err != nil {
			t.Fatal(err)
		}
		rawC, rawG = append(rawC, sample{ts, c}), append(rawG, sample{ts, g})
		if ts%(6*hour) == 0 {
			maintain(t, db)
		}
	}
	maintain(t, db)
	var n5, n1 int
	var end5, end1 int64
	for _, b := range db.Blocks() {
		switch m := b.Meta(); m.Resolution {
		case Resolution5m:
			n5++
			end5 = max(end5, m.MaxTime)
		case Resolution1h:
			n1++
			end1 = max(end1, m.MaxTime)
		}
	}
	if n5 == 0 || n1 == 0 || end5 <= end1 {
		t.Fatalf("%d 5m blocks up to %d, %d 1h blocks up to %d", n5, end5, n1, end1)
	}
	gm := labels.MustNewMatcher(labels.MatchEqual, "__name__", "temperature")
	cm := labels.MustNewMatcher(labels.MatchEqual, "__name__", "requests_total")

	// Raw stays the default.
	if got := selectWith(t, db, nil, gm); len(got) != len(rawG) {
		t.Fatalf("raw select: %d samples, want %d", len(got), len(rawG))
	}
	// expected is what a select at res returns: windows of the coarsest
	// resolution available, then finer ones, then raw samples.
	expected := func(res int64, fn string) []sample {
		var out []sample
		from := int64(0)
		for _, r := range []struct{ res, end int64 }{{Resolution1h, end1}, {Resolution5m, end5}} {
			if r.res > res {
				continue
			}
			for _, w := range windows(rawG, r.res, r.end) {
				if w.lastT < from {
					continue
				}
				v := map[string]float64{"": w.sum / w.count, "min_over_time": w.min, "max_over_time": w.max,
					"sum_over_time": w.sum, "count_over_time": w.count}[fn]
				out = append(out, sample{w.lastT, v})
			}
			from = r.end
		}
		for _, s := range rawG {
			if s.t >= from {
				out = append(out, s)
			}
		}
		return out
	}
	for _, res := range []int64{Resolution5m, Resolution1h} {
		for _, fn := range []string{"", "min_over_time", "max_over_time", "sum_over_time", "count_over_time"} {
			got := selectWith(t, db, &storage.SelectHints{MaxResolution: res, Func: fn}, gm)
			want := expected(res, fn)
			if len(got) != len(want) {
				t.Fatalf("res %d %q: %d samples, want %d", res, fn, len(got), len(want))
			}
			for i, w := range want {
				if got[i].t != w.t || math.Abs(got[i].v-w.v) > 1e-9*math.Abs(w.v) {
					t.Fatalf("res %d %q sample %d: %v, want %v", res, fn, i, got[i], w)
				}
			}
		}
		got := selectWith(t, db, &storage.SelectHints{MaxResolution: res, Func: "rate"}, cm)
		if inc, want := increase(got), increase(rawC); inc != want {
			t.Fatalf("res %d: increase over the counter series %v, raw %v", res, inc, want)
		}
		if len(got) > len(rawC)/2 {
			t.Fatalf("res %d: %d counter points for %d raw samples", res, len(got), len(rawC))
		}
		t.Logf("res %d: %d counter points for %d raw samples", res, len(got), len(rawC))
	}
	// They survive a restart and are not rebuilt.
	blocks := len(db.Blocks())
	db.Close()
	db = openBlocksTest(t, dir, opts)
	defer db.Close()
	maintain(t, db)
	if n := len(db.Blocks()); n != blocks {
		t.Fatalf("%d blocks after restart and maintenance, %d before", n, blocks)
	}
}

// A downsampled copy of a block that compaction then merges into a larger
// one is replaced by the copy of the larger one: copies never overlap, and
// each is made from a block being served.
func TestDownsampledCopiesReplaced(t *testing.T) {
	var logs strings.Builder
	db := openBlocksTest(t, t.TempDir(), func(o *Options) {
		o.BlockRange, o.MaxBlockDuration = time.Hour, 3*time.Hour
		o.Downsample5mAfter, o.Downsample1hAfter = 90*time.Minute, 100*time.Hour
		o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	defer db.Close()
	for h := range 12 {
		fill(t, db, 3, h*240, (h+1)*240)
		maintain(t, db)
	}
	raw := map[string]bool{}
	var copies []BlockMeta
	for _, b := range db.Blocks() {
		if m := b.Meta(); m.Resolution == 0 {
			raw[m.ULID] = true
		} else {
			copies = append(copies, m)
		}
	}
	if made := strings.Count(logs.String(), "Block downsampled"); len(copies) == 0 || made <= len(copies) {
		t.Fatalf("%d copies made, %d served: no copy was replaced", made, len(copies))
	}
	for i, c := range copies {
		if !raw[c.DownsampledFrom] {
			t.Errorf("5m block [%d, %d) made from %s, which is not served", c.MinTime, c.MaxTime, c.DownsampledFrom)
		}
		for _, o := range copies[i+1:] {
			if c.MinTime < o.MaxTime && o.MinTime < c.MaxTime {
				t.Errorf("5m blocks [%d, %d) and [%d, %d) overlap", c.MinTime, c.MaxTime, o.MinTime, o.MaxTime)
			}
		}
	}
	// The downsampled series agree with the raw one.
	m := labels.MustNewMatcher(labels.MatchEqual, "i", "1")
	rawS := selectWith(t, db, nil, m)
	down := selectWith(t, db, &storage.SelectHints{MaxResolution: Resolution5m, Func: "count_over_time"}, m)
	n := 0.0
	for _, s := range down {
		if s.t < copies[len(copies)-1].MaxTime {
			n += s.v
		}
	}
	want := 0
	for _, s := range rawS {
		if s.t < copies[len(copies)-1].MaxTime {
			want++
		}
	}
	if int(n) != want {
		t.Fatalf("5m counts add up to %v raw samples, want %d", n, want)
	}
}
