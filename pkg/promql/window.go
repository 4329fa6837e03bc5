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
	// fhead and hhead index the first sample still in the window: samples
	// leave from the front without moving the rest, which is compacted
	// only once half the buffer is dead.
	fbuf  []FPoint
	hbuf  []HPoint
	fhead int
	hhead int
	// hsize is the MaxSamples weight of the histograms held.
	hsize int
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
	w.fbuf, w.hbuf = w.fbuf[:0], w.hbuf[:0]
	w.fhead, w.hhead, w.hsize = 0, 0, 0
	w.floats, w.hists = w.fbuf, w.hbuf
	w.fST, w.hST = w.fST[:0], w.hST[:0]
	w.wantST = wantST
}

func (w *window) empty() bool { return len(w.floats) == 0 && len(w.hists) == 0 }

// size counts the samples held, for MaxSamples.
func (w *window) size() int { return len(w.floats) + w.hsize }

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
			_, c.scratch = c.it.AtFloatHistogram(reusable(c.scratch))
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
		w.fhead += k
		w.floats = w.fbuf[w.fhead:]
		if w.wantST {
			w.fST = w.fST[:copy(w.fST, w.fST[k:])]
		}
	}
	k = 0
	for k < len(w.hists) && w.hists[k].T <= t {
		w.spare = append(w.spare, w.hists[k].H)
		w.hsize -= w.hists[k].size()
		k++
	}
	if k > 0 {
		w.hhead += k
		w.hists = w.hbuf[w.hhead:]
		if w.wantST {
			w.hST = w.hST[:copy(w.hST, w.hST[k:])]
		}
	}
}

// appendFloat adds a sample on the right, compacting the buffer first when
// most of it has left the window.
func (w *window) appendFloat(p FPoint) {
	if w.fhead > 0 && w.fhead >= len(w.fbuf)/2 && len(w.fbuf) == cap(w.fbuf) {
		n := copy(w.fbuf, w.fbuf[w.fhead:])
		w.fbuf, w.fhead = w.fbuf[:n], 0
	}
	w.fbuf = append(w.fbuf, p)
	w.floats = w.fbuf[w.fhead:]
}

func (w *window) appendHist(p HPoint) {
	if w.hhead > 0 && w.hhead >= len(w.hbuf)/2 && len(w.hbuf) == cap(w.hbuf) {
		n := copy(w.hbuf, w.hbuf[w.hhead:])
		w.hbuf, w.hhead = w.hbuf[:n], 0
	}
	w.hbuf = append(w.hbuf, p)
	w.hists = w.hbuf[w.hhead:]
	w.hsize += p.size()
}

// read appends the cursor's current sample unless it is a stale marker.
func (w *window) read(c *cursor) {
	if c.typ == storage.ValFloat {
		if value.IsStaleNaN(c.v) {
			return
		}
		w.appendFloat(FPoint{T: c.t, F: c.v})
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
	t, h := c.it.AtFloatHistogram(reusable(h))
	if value.IsStaleNaN(h.Sum) {
		w.spare = append(w.spare, h)
		return
	}
	w.appendHist(HPoint{T: t, H: h})
	if w.wantST {
		w.hST = append(w.hST, c.atST())
	}
}
