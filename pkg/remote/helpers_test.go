package remote

import (
	"io"
	"log/slog"
	"sync"

	"github.com/prometheus/prometheus/model/histogram"
)

func testHistogram() *histogram.Histogram {
	return &histogram.Histogram{
		Count: 3, Sum: 4, ZeroCount: 1, ZeroThreshold: 0.001, Schema: 0,
		PositiveSpans:   []histogram.Span{{Offset: 0, Length: 2}},
		PositiveBuckets: []int64{1, 0},
	}
}

type lockedWriter struct {
	w   io.Writer
	mtx *sync.Mutex
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mtx.Lock()
	defer l.mtx.Unlock()
	return l.w.Write(p)
}

func newTestLogger(w io.Writer, mtx *sync.Mutex) *slog.Logger {
	return slog.New(slog.NewTextHandler(lockedWriter{w, mtx}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
