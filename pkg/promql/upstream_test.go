package promql_test

import (
	"context"
	"math"
	"path"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/promqltest"
	promstorage "github.com/prometheus/prometheus/storage"

	"github.com/graftlabs/graft/pkg/promql"
	"github.com/graftlabs/graft/pkg/promql/promcompat"
	"github.com/graftlabs/graft/pkg/storage"
	"github.com/graftlabs/graft/pkg/storage/memstore"
	"github.com/graftlabs/graft/pkg/storage/tsdb"
	"github.com/graftlabs/graft/pkg/storage/tsdb/wal"
)

// skippedUpstream lists the files of Prometheus's test suite
// (promql/promqltest/testdata) that Graft does not pass yet, each with its
// reason, keyed by storage and file: "tsdb/x.test" skips x.test over both
// of the TSDB's modes, "tsdb/blocks/x.test" over one. It is the only skip
// list; it shrinks to nothing.
var skippedUpstream = map[string]string{}

// upstreamEngine is Graft's engine configured like promqltest's test
// engine: delayed name removal, start timestamps, one-minute steps for
// subqueries without one.
func upstreamEngine() *promcompat.Engine {
	return promcompat.NewEngine(promql.NewEngine(promql.EngineOpts{
		LookbackDelta:            5 * time.Minute,
		Timeout:                  100 * time.Second,
		MaxSamples:               promqltest.DefaultMaxSamplesPerQuery,
		EnableDelayedNameRemoval: true,
		EnableStartTimestamps:    true,
		NoStepSubqueryInterval:   func(int64) int64 { return time.Minute.Milliseconds() },
	}))
}

// TestUpstreamPromQL runs every file of Prometheus's PromQL test suite, one
// subtest per file, against Graft's engine over Graft's storages: the
// in-memory store, and the TSDB read from its head and from blocks (there,
// every commit is written to blocks at once, later loads arrive as late
// samples and compaction merges the blocks they overlap).
func TestUpstreamPromQL(t *testing.T) {
	for _, st := range []struct {
		name string
		open func(testing.TB) storage.Storage
	}{
		{"memstore", func(testing.TB) storage.Storage { return memstore.New() }},
		{"tsdb/head", func(tb testing.TB) storage.Storage { return openTSDB(tb, false) }},
		{"tsdb/blocks", func(tb testing.TB) storage.Storage { return openTSDB(tb, true) }},
	} {
		t.Run(st.name, func(t *testing.T) {
			newStorage := func(tb testing.TB) promstorage.Storage { return promcompat.NewStorage(st.open(tb)) }
			promqltest.RunBuiltinTestsWithStorage(skippingT{t, st.name}, upstreamEngine(), newStorage)
		})
	}
}

// openTSDB opens a TSDB in a temporary directory; with blocks, each commit
// is flushed to blocks (a day long, so that the tests' samples, mostly
// from time 0 on, land in few of them) and late samples are accepted.
func openTSDB(tb testing.TB, blocks bool) storage.Storage {
	opts := tsdb.Options{Fsync: wal.FsyncSegment, MaintenanceInterval: time.Hour}
	if blocks {
		opts.BlockRange, opts.OutOfOrderTimeWindow = 24*time.Hour, math.MaxInt64
	}
	db, err := tsdb.Open(tb.TempDir(), opts)
	if err != nil {
		tb.Fatal(err)
	}
	if !blocks {
		return db
	}
	return flushingDB{db}
}

// flushingDB writes the head to blocks after every commit.
type flushingDB struct{ *tsdb.DB }

func (f flushingDB) Appender(ctx context.Context) storage.Appender {
	return flushingAppender{f.DB.Appender(ctx), f.DB}
}

type flushingAppender struct {
	storage.Appender
	db *tsdb.DB
}

// AppendWithStartTimestamp passes start timestamps on to the TSDB's
// appender (the embedded interface hides it).
func (a flushingAppender) AppendWithStartTimestamp(ref storage.SeriesRef, lset labels.Labels, st, t int64, v float64, h *histogram.Histogram, fh *histogram.FloatHistogram) (storage.SeriesRef, error) {
	return a.Appender.(storage.StartTimestampAppender).AppendWithStartTimestamp(ref, lset, st, t, v, h, fh)
}

func (a flushingAppender) Commit() error {
	if err := a.Appender.Commit(); err != nil {
		return err
	}
	return a.db.FlushHead(context.Background())
}

// skippingT skips the files listed in skippedUpstream for its storage.
type skippingT struct {
	*testing.T
	storage string // "memstore", "tsdb/head", ...
}

func (s skippingT) Run(name string, f func(*testing.T)) bool {
	return s.T.Run(name, func(t *testing.T) {
		if reason, ok := s.skipped(path.Base(name)); ok {
			t.Skip(reason)
		}
		f(t)
	})
}

// skipped looks the file up under the storage's name and each of its
// parents ("tsdb/blocks", then "tsdb").
func (s skippingT) skipped(file string) (string, bool) {
	for st := s.storage; st != "." && st != "/"; st = path.Dir(st) {
		if reason, ok := skippedUpstream[st+"/"+file]; ok {
			return reason, true
		}
	}
	return "", false
}
