package remote

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/storage"
	"github.com/graftlabs/graft/pkg/storage/tsdb"
)

// recorder is a Forwarder that keeps copies of what it is handed.
type recorder struct {
	mtx     sync.Mutex
	enabled bool
	batches []Batch
}

func (r *recorder) Enabled() bool { return r.enabled }

func (r *recorder) Forward(b *Batch) {
	r.mtx.Lock()
	defer r.mtx.Unlock()
	r.batches = append(r.batches, Batch{
		Samples:   append([]Sample(nil), b.Samples...),
		Exemplars: append([]Exemplar(nil), b.Exemplars...),
	})
}

func openTSDB(t *testing.T) *tsdb.DB {
	t.Helper()
	db, err := tsdb.Open(t.TempDir(), tsdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func TestTeeForwardsOnlyWhatTheStorageCommitted(t *testing.T) {
	db := openTSDB(t)
	rec := &recorder{enabled: true}
	tee := NewTee(db, rec)
	ls := labels.FromStrings("__name__", "m", "job", "a")

	app := tee.Appender(context.Background())
	if _, err := app.Append(0, ls, 2000, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := app.AppendHistogram(0, labels.FromStrings("__name__", "h"), 2000, &histogram.Histogram{Count: 1, ZeroCount: 1}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := app.AppendExemplar(0, ls, exemplar.Exemplar{Labels: labels.FromStrings("trace_id", "abc"), Value: 2, Ts: 2000, HasTs: true}); err != nil {
		t.Fatal(err)
	}
	if len(rec.batches) != 0 {
		t.Fatal("forwarded before Commit")
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	if len(rec.batches) != 1 || len(rec.batches[0].Samples) != 2 || len(rec.batches[0].Exemplars) != 1 {
		t.Fatalf("after commit: %+v", rec.batches)
	}

	// Refused samples (out of order, empty labels, invalid histogram) are
	// not forwarded; the accepted one of the same batch is.
	app = tee.Appender(context.Background())
	if _, err := app.Append(0, ls, 1000, 1); !errors.Is(err, storage.ErrOutOfOrderSample) {
		t.Fatalf("out-of-order append: %v", err)
	}
	if _, err := app.Append(0, labels.EmptyLabels(), 3000, 1); err == nil {
		t.Fatal("empty labels accepted")
	}
	if _, err := app.AppendHistogram(0, ls, 3000, nil, nil); err == nil {
		t.Fatal("empty histogram accepted")
	}
	if _, err := app.Append(0, ls, 3000, 3); err != nil {
		t.Fatal(err)
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	if len(rec.batches) != 2 || len(rec.batches[1].Samples) != 1 || rec.batches[1].Samples[0].T != 3000 {
		t.Fatalf("second commit forwarded %+v", rec.batches[1:])
	}

	// A rollback forwards nothing; neither does a commit of nothing.
	app = tee.Appender(context.Background())
	if _, err := app.Append(0, ls, 4000, 4); err != nil {
		t.Fatal(err)
	}
	if err := app.Rollback(); err != nil {
		t.Fatal(err)
	}
	app = tee.Appender(context.Background())
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	if len(rec.batches) != 2 {
		t.Fatalf("rollback or empty commit forwarded: %+v", rec.batches[2:])
	}
}

// failingCommit is a storage whose commits fail.
type failingCommit struct{ storage.Appendable }

func (f failingCommit) Appender(ctx context.Context) storage.Appender {
	return failingAppender{f.Appendable.Appender(ctx)}
}

type failingAppender struct{ storage.Appender }

func (a failingAppender) Commit() error {
	_ = a.Appender.Rollback()
	return errors.New("disk full")
}

func TestTeeForwardsNothingWhenCommitFails(t *testing.T) {
	rec := &recorder{enabled: true}
	tee := NewTee(failingCommit{openTSDB(t)}, rec)
	app := tee.Appender(context.Background())
	if _, err := app.Append(0, labels.FromStrings("__name__", "m"), 1000, 1); err != nil {
		t.Fatal(err)
	}
	if err := app.Commit(); err == nil {
		t.Fatal("commit error swallowed")
	}
	if len(rec.batches) != 0 {
		t.Fatalf("a failed commit was forwarded: %+v", rec.batches)
	}
}

func TestTeeIsTransparentWhenDisabled(t *testing.T) {
	db := openTSDB(t)
	rec := &recorder{}
	tee := NewTee(db, rec)
	if _, ok := tee.Appender(context.Background()).(*teeAppender); ok {
		t.Fatal("appender wrapped with nobody to forward to")
	}
	rec.enabled = true
	if _, ok := tee.Appender(context.Background()).(*teeAppender); !ok {
		t.Fatal("appender not wrapped once enabled")
	}
}

// An appender reused after Commit forwards each commit's samples once.
func TestTeeAppenderReusedAfterCommit(t *testing.T) {
	rec := &recorder{enabled: true}
	tee := NewTee(openTSDB(t), rec)
	app := tee.Appender(context.Background())
	for i := range 3 {
		if _, err := app.Append(0, labels.FromStrings("__name__", "m"), int64(1000*(i+1)), float64(i)); err != nil {
			t.Fatal(err)
		}
		if err := app.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	if len(rec.batches) != 3 {
		t.Fatalf("%d batches, want 3", len(rec.batches))
	}
	for i, b := range rec.batches {
		if len(b.Samples) != 1 || b.Samples[0].V != float64(i) {
			t.Fatalf("batch %d = %+v", i, b)
		}
	}
}

// Start timestamps reach a storage that keeps them; the forwarded sample is
// the one stored. Over a storage without them the sample is kept without.
func TestTeePassesStartTimestamps(t *testing.T) {
	db := openTSDB(t)
	rec := &recorder{enabled: true}
	ls := labels.FromStrings("__name__", "c_total")
	for i, c := range []struct {
		name  string
		inner storage.Appendable
		want  int64 // start timestamp read back
	}{
		{"keeps them", db, 1500},
		{"keeps none", withoutST{db}, 0},
	} {
		app := NewTee(c.inner, rec).Appender(context.Background())
		st, ok := app.(storage.StartTimestampAppender)
		if !ok {
			t.Fatalf("%s: the tee's appender takes no start timestamps", c.name)
		}
		ts := int64(i+2) * 1000
		if _, err := st.AppendWithStartTimestamp(0, ls, 1500, ts, 7, nil, nil); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if err := app.Commit(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if len(rec.batches) != i+1 || rec.batches[i].Samples[0].V != 7 || rec.batches[i].Samples[0].T != ts {
			t.Fatalf("%s: forwarded %+v", c.name, rec.batches)
		}
		if got := readST(t, db, ts); got != c.want {
			t.Fatalf("%s: start timestamp %d stored, want %d", c.name, got, c.want)
		}
	}
}

// withoutST is a storage whose appenders take no start timestamps.
type withoutST struct{ storage.Appendable }

func (w withoutST) Appender(ctx context.Context) storage.Appender {
	return struct{ storage.Appender }{w.Appendable.Appender(ctx)}
}

// readST is the start timestamp stored with the sample at ts, -1 if there
// is none at ts.
func readST(t *testing.T, db *tsdb.DB, ts int64) int64 {
	t.Helper()
	q, err := db.Querier(ts, ts)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	ss := q.Select(context.Background(), nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", "c_total"))
	for ss.Next() {
		it := ss.At().Iterator(nil)
		for it.Next() != storage.ValNone {
			if at, _ := it.At(); at == ts {
				return it.(storage.StartTimestampIterator).AtST()
			}
		}
	}
	return -1
}
