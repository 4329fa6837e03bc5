package querycache

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/promql"
	"github.com/graftlabs/graft/pkg/storage"
)

// fakeFeed is a change feed the test drives.
type fakeFeed struct {
	mtx      sync.Mutex
	gen      uint64
	changes  []storage.Change
	lostUpTo uint64 // changes at or before it are forgotten
}

func (f *fakeFeed) ChangesSince(gen uint64) storage.Changes {
	f.mtx.Lock()
	defer f.mtx.Unlock()
	out := storage.Changes{Generation: f.gen, Complete: gen >= f.lostUpTo}
	for _, c := range f.changes {
		if c.Generation > gen {
			out.Changes = append(out.Changes, c)
		}
	}
	return out
}

// change records one change of every series (no labels) or of one.
func (f *fakeFeed) change(lset labels.Labels, mint, maxt int64) {
	f.mtx.Lock()
	defer f.mtx.Unlock()
	f.gen++
	f.changes = append(f.changes, storage.Change{Generation: f.gen, Labels: lset, MinT: mint, MaxT: maxt})
}

func (f *fakeFeed) loseHistory() {
	f.mtx.Lock()
	defer f.mtx.Unlock()
	f.gen++
	f.lostUpTo = f.gen
	f.changes = nil
}

// countingStore counts the queriers opened on a storage.
type countingStore struct {
	storage.Queryable
	mtx      sync.Mutex
	queriers int
	// onQuerier, when set, runs as a querier opens.
	onQuerier func()
}

func (s *countingStore) Querier(mint, maxt int64) (storage.Querier, error) {
	s.mtx.Lock()
	s.queriers++
	hook := s.onQuerier
	s.mtx.Unlock()
	if hook != nil {
		hook()
	}
	return s.Queryable.Querier(mint, maxt)
}

func (s *countingStore) count() int {
	s.mtx.Lock()
	defer s.mtx.Unlock()
	return s.queriers
}

// clock is a settable now.
type clock struct {
	mtx sync.Mutex
	t   time.Time
}

func (c *clock) now() time.Time {
	c.mtx.Lock()
	defer c.mtx.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mtx.Lock()
	c.t = t
	c.mtx.Unlock()
}

// sameResult compares a cached answer with a fresh evaluation exactly:
// series, timestamps, float bits (NaN equal to NaN), histograms and
// annotations.
func sameResult(want, got *promql.Result) error {
	wm, _ := want.Value.(promql.Matrix)
	gm, _ := got.Value.(promql.Matrix)
	if len(wm) != len(gm) {
		return fmt.Errorf("%d series, want %d:\ngot  %v\nwant %v", len(gm), len(wm), gm, wm)
	}
	for i := range wm {
		if err := sameSeries(wm[i], gm[i]); err != nil {
			return err
		}
	}
	ww, wi := want.Warnings("q")
	gw, gi := got.Warnings("q")
	if fmt.Sprint(sortedCopy(ww), sortedCopy(wi)) != fmt.Sprint(sortedCopy(gw), sortedCopy(gi)) {
		return fmt.Errorf("annotations %v %v, want %v %v", gw, gi, ww, wi)
	}
	return nil
}

func sameSeries(w, g promql.Series) error {
	if !labels.Equal(w.Metric, g.Metric) {
		return fmt.Errorf("series %s, want %s", g.Metric, w.Metric)
	}
	if len(w.Floats) != len(g.Floats) || len(w.Histograms) != len(g.Histograms) {
		return fmt.Errorf("%s: %d floats %d histograms, want %d %d\ngot  %v\nwant %v", w.Metric,
			len(g.Floats), len(g.Histograms), len(w.Floats), len(w.Histograms), g, w)
	}
	for j, p := range w.Floats {
		q := g.Floats[j]
		if p.T != q.T || (math.Float64bits(p.F) != math.Float64bits(q.F) && !(math.IsNaN(p.F) && math.IsNaN(q.F))) {
			return fmt.Errorf("%s point %d: %v, want %v", w.Metric, j, q, p)
		}
	}
	for j, p := range w.Histograms {
		q := g.Histograms[j]
		if p.T != q.T || !p.H.Equals(q.H) {
			return fmt.Errorf("%s histogram %d: %v, want %v", w.Metric, j, q, p)
		}
	}
	return nil
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// fresh is the engine's own answer.
func fresh(t testing.TB, e *promql.Engine, q storage.Queryable, expr string, start, end time.Time, step time.Duration, opts promql.QueryOpts) (*promql.Result, error) {
	t.Helper()
	qry, err := e.NewRangeQuery(q, expr, start, end, step, opts)
	if err != nil {
		return nil, err
	}
	return qry.Exec(context.Background())
}
