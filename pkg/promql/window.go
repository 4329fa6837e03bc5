package promql

import (
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/value"

	"github.com/graftlabs/graft/pkg/storage"
)

// window holds the samples of one series inside a left-open range (mint,
// maxt]. It slides forward as steps advance, so that each sample is read
// from storage once however many windows it falls in. Stale markers are
// never kept: range vectors skip them.
type window struct {
	floats []FPoint
	hists  []HPoint
	// Start timestamps of floats and hists, kept when wantST.
	fST, hST []int64
	wantST   bool
	// spare holds histograms that left the window, to be overwritten by the
	// next ones read.
	spare []*histogram.FloatHistogram
}

func (w *window) reset(wantST bool) {
	for _, p := range w.hists {
		w.spare = append(w.spare, p.H)
	}
	w.floats, w.hists = w.floats[:0], w.hists[:0]
	w.fST, w.hST = w.fST[:0], w.hST[:0]
	w.wantST = wantST
}

func (w *window) empty() bool { return len(w.floats) == 0 && len(w.hists) == 0 }

// size counts the samples held, for MaxSamples.
func (w *window) size() int {
	n := len(w.floats)
	for _, p := range w.hists {
		n += p.size()
	}
	return n
}

// fill moves the window to (mint, maxt]: it drops what fell out on the left
// and reads what came in on the right.
func (w *window) fill(c *cursor, mint, maxt int64) {
	w.dropThrough(mint)
	if mint >= maxt {
		return
	}
	if w.empty() {
		// Nothing buffered: jump over the gap.
		if !c.feed {
			c.seek(mint + 1)
		} else if !c.started || (c.typ != storage.ValNone && c.t < mint) {
			c.seek(mint)
		}
	}
	for c.typ != storage.ValNone && c.t <= maxt {
		if c.t > mint {
			w.read(c)
		} else if c.feed && c.typ != storage.ValFloat {
			_, c.scratch = c.it.AtFloatHistogram(c.scratch)
		}
		c.next()
	}
}

// dropThrough removes the samples at or before t.
func (w *window) dropThrough(t int64) {
	k := 0
	for k < len(w.floats) && w.floats[k].T <= t {
		k++
	}
	if k > 0 {
		w.floats = w.floats[:copy(w.floats, w.floats[k:])]
		if w.wantST {
			w.fST = w.fST[:copy(w.fST, w.fST[k:])]
		}
	}
	k = 0
	for k < len(w.hists) && w.hists[k].T <= t {
		w.spare = append(w.spare, w.hists[k].H)
		k++
	}
	if k > 0 {
		w.hists = w.hists[:copy(w.hists, w.hists[k:])]
		if w.wantST {
			w.hST = w.hST[:copy(w.hST, w.hST[k:])]
		}
	}
}

// read appends the cursor's current sample unless it is a stale marker.
func (w *window) read(c *cursor) {
	if c.typ == storage.ValFloat {
		t, f := c.it.At()
		if value.IsStaleNaN(f) {
			return
		}
		w.floats = append(w.floats, FPoint{T: t, F: f})
		if w.wantST {
			w.fST = append(w.fST, c.atST())
		}
		return
	}
	var h *histogram.FloatHistogram
	if n := len(w.spare); n > 0 {
		h, w.spare = w.spare[n-1], w.spare[:n-1]
	} else {
		h = &histogram.FloatHistogram{}
	}
	t, h := c.it.AtFloatHistogram(h)
	if value.IsStaleNaN(h.Sum) {
		w.spare = append(w.spare, h)
		return
	}
	w.hists = append(w.hists, HPoint{T: t, H: h})
	if w.wantST {
		w.hST = append(w.hST, c.atST())
	}
}
