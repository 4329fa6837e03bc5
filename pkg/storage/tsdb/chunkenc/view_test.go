package chunkenc

import (
	"sync"
	"testing"

	"github.com/prometheus/prometheus/model/histogram"

	"github.com/graftlabs/graft/pkg/storage"
)

// readViewsWhileAppending appends samples to a float chunk, taking a view
// after each append under a lock as the head does, while another goroutine
// reads each view with read (until read says stop).
func readViewsWhileAppending(samples []pair, read func(RawChunk) bool) {
	c := NewFloatChunk()
	views := make(chan RawChunk, len(samples))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for v := range views {
			if !read(v) {
				return
			}
		}
	}()
	var mtx sync.Mutex // the head's series lock
	for _, s := range samples {
		mtx.Lock()
		c.Append(s.t, s.v)
		views <- c.View()
		mtx.Unlock()
	}
	close(views)
	wg.Wait()
}

// A view taken after each append reads exactly the samples appended so
// far, while appends go on in another goroutine (run with -race: appends
// write the header and the last byte, which views must not read).
func TestFloatChunkViews(t *testing.T) {
	for shape := range shapes {
		t.Run(shape, func(t *testing.T) {
			samples := genSamples(7, shape, 300)
			var it storage.Iterator
			readViewsWhileAppending(samples, func(v RawChunk) bool {
				it = v.Iterator(it)
				got := readAll(t, it)
				checkSame(t, samples[:v.NumSamples()], got)
				checkSame(t, got, readAll(t, NewFloatIterator(v.Bytes(), nil)))
				last := samples[v.NumSamples()-1]
				at, ok := v.IteratorAtLast(last.t, nil)
				if !ok {
					t.Error("a float view does not know its last sample")
					return false
				}
				checkAtLast(t, at, last)
				return true
			})
		})
	}
}

// checkAtLast wants it positioned on last, and nothing after.
func checkAtLast(t *testing.T, it storage.Iterator, last pair) {
	t.Helper()
	if ts, v := it.At(); ts != last.t || !sameFloat(v, last.v) {
		t.Fatalf("positioned on %d %v, want %v", ts, v, last)
	}
	if it.SeekTo(last.t) != storage.ValFloat || it.Next() != storage.ValNone || it.Err() != nil {
		t.Fatalf("samples after the last one: %v", it.Err())
	}
}

// A chunk reopened from its bytes (a head snapshot) knows its last sample.
func TestReopenedChunkKnowsLastSample(t *testing.T) {
	for shape := range shapes {
		samples := genSamples(9, shape, 77)
		c := NewFloatChunk()
		for _, s := range samples {
			c.Append(s.t, s.v)
		}
		re, err := FloatChunkFromBytes(c.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		last := samples[len(samples)-1]
		at, _ := re.View().IteratorAtLast(last.t, nil)
		checkAtLast(t, at, last)
	}
}

func TestHistogramChunkViews(t *testing.T) {
	c := NewHistogramChunk(false)
	views := make(chan RawChunk, 100)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var it storage.Iterator
		var h *histogram.Histogram
		for v := range views {
			it = v.Iterator(it)
			n := 0
			for it.Next() == storage.ValHistogram {
				var ts int64
				ts, h = it.AtHistogram(h)
				if ts != int64(n)*15000 || !h.Equals(testHistogram(n)) {
					t.Errorf("view of %d: sample %d: %d %v", v.NumSamples(), n, ts, h)
				}
				n++
			}
			if it.Err() != nil || n != v.NumSamples() {
				t.Errorf("view of %d samples read %d: %v", v.NumSamples(), n, it.Err())
			}
		}
	}()
	var mtx sync.Mutex
	for i := range 100 {
		mtx.Lock()
		if err := c.Append(int64(i)*15000, testHistogram(i), nil); err != nil {
			t.Fatal(err)
		}
		views <- c.View()
		mtx.Unlock()
	}
	close(views)
	wg.Wait()
}
