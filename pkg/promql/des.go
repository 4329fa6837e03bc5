package promql

import "sort"

// double_exponential_smoothing runs a sequential recurrence over the whole
// window at every step: a chain of dependent floating-point operations
// whose latency, not the work, sets its speed. Consecutive steps are
// independent chains, so they are computed four at a time, interleaved:
// the CPU overlaps them. Each chain does exactly the operations of the
// one-step kernel, in the same order, so the results are the same bits.

// desLanes is how many steps are computed together.
const desLanes = 4

// slideDES is slide for double_exponential_smoothing without @: steps in
// groups of desLanes. The window is filled through the last step of a
// group; each step reads its own part of it.
func (ev *evaluator) slideDES(win *window, cur *cursor, src *rangeSource, step *rangeStep, params []scalarValue, _ rangeKernel, res *Series, a *pointArena) error {
	peak, read := 0, 0
	defer func() {
		ev.budget.release(peak)
		ev.budget.countRead(read)
	}()
	var (
		lanes [desLanes]desLane
		out   [desLanes]float64
	)
	for k0 := 0; k0 < ev.steps; k0 += desLanes {
		n := min(desLanes, ev.steps-k0)
		first, last := ev.ts(k0)-src.offset, ev.ts(k0+n-1)-src.offset
		win.fill(cur, first-src.rangeMs, last)
		if size := win.size(); size > peak {
			if err := ev.budget.add(size - peak); err != nil {
				return err
			}
			peak = size
		}
		fast := 0 // lanes the interleaved loop can take
		for j := range n {
			k := k0 + j
			ref := ev.ts(k) - src.offset
			l := &lanes[j]
			*l = desLane{k: k, sf: params[0][k], tf: params[1][k]}
			l.floats = windowPart(win.floats, ref-src.rangeMs, ref)
			hists := windowPartH(win.hists, ref-src.rangeMs, ref)
			l.hasHists = len(hists) > 0
			read += len(l.floats) + histsWeight(hists)
			if l.simple() {
				fast++
			}
		}
		if fast == desLanes {
			desInterleaved(&lanes, &out)
		}
		for j := range n {
			l := &lanes[j]
			f, ok := out[j], true
			if fast != desLanes || !l.simple() {
				if len(l.floats) == 0 && !l.hasHists {
					continue // nothing in the window: no output
				}
				ref := ev.ts(l.k) - src.offset
				step.floats, step.hists = l.floats, windowPartH(win.hists, ref-src.rangeMs, ref)
				step.fST, step.hST = nil, nil
				step.params[0], step.params[1] = l.sf, l.tf
				step.ts, step.rangeStart, step.rangeEnd = ev.ts(l.k), ref-src.rangeMs, ref
				f, _, ok = kernelDoubleExponentialSmoothing(step)
				if step.err != nil {
					return step.err
				}
			}
			if !ok {
				continue
			}
			if cap(res.Floats) == 0 {
				res.Floats = a.floats(ev.steps - l.k)
			}
			res.Floats = append(res.Floats, FPoint{T: ev.ts(l.k), F: f})
		}
	}
	return nil
}

// desLane is one step of a group.
type desLane struct {
	k        int
	sf, tf   float64
	floats   []FPoint
	hasHists bool
}

// simple lanes have valid factors, two floats or more and no histograms:
// no errors, no annotations, an output.
func (l *desLane) simple() bool {
	return l.sf > 0 && l.sf < 1 && l.tf > 0 && l.tf < 1 && len(l.floats) >= 2 && !l.hasHists
}

// histsWeight is the stats and MaxSamples weight of histogram points.
func histsWeight(hs []HPoint) int {
	n := 0
	for _, p := range hs {
		n += p.size()
	}
	return n
}

// windowPart returns the points of w in (mint, maxt].
func windowPart(w []FPoint, mint, maxt int64) []FPoint {
	lo := sort.Search(len(w), func(i int) bool { return w[i].T > mint })
	hi := lo + sort.Search(len(w)-lo, func(i int) bool { return w[lo+i].T > maxt })
	return w[lo:hi]
}

func windowPartH(w []HPoint, mint, maxt int64) []HPoint {
	lo := sort.Search(len(w), func(i int) bool { return w[i].T > mint })
	hi := lo + sort.Search(len(w)-lo, func(i int) bool { return w[lo+i].T > maxt })
	return w[lo:hi]
}

// desInterleaved runs kernelDoubleExponentialSmoothing's recurrence for
// four simple lanes at once: in lockstep while every lane has samples,
// then each on its own.
func desInterleaved(lanes *[desLanes]desLane, out *[desLanes]float64) {
	var s0, s1, b, sf, tf [desLanes]float64
	n := len(lanes[0].floats)
	for j := range lanes {
		f := lanes[j].floats
		s1[j], b[j] = f[0].F, f[1].F-f[0].F
		sf[j], tf[j] = lanes[j].sf, lanes[j].tf
		n = min(n, len(f))
	}
	f0, f1, f2, f3 := lanes[0].floats, lanes[1].floats, lanes[2].floats, lanes[3].floats
	for i := 1; i < n; i++ {
		x0, x1, x2, x3 := sf[0]*f0[i].F, sf[1]*f1[i].F, sf[2]*f2[i].F, sf[3]*f3[i].F
		if i > 1 {
			b[0] = tf[0]*(s1[0]-s0[0]) + (1-tf[0])*b[0]
			b[1] = tf[1]*(s1[1]-s0[1]) + (1-tf[1])*b[1]
			b[2] = tf[2]*(s1[2]-s0[2]) + (1-tf[2])*b[2]
			b[3] = tf[3]*(s1[3]-s0[3]) + (1-tf[3])*b[3]
		}
		y0 := (1 - sf[0]) * (s1[0] + b[0])
		y1 := (1 - sf[1]) * (s1[1] + b[1])
		y2 := (1 - sf[2]) * (s1[2] + b[2])
		y3 := (1 - sf[3]) * (s1[3] + b[3])
		s0[0], s1[0] = s1[0], x0+y0
		s0[1], s1[1] = s1[1], x1+y1
		s0[2], s1[2] = s1[2], x2+y2
		s0[3], s1[3] = s1[3], x3+y3
	}
	for j := range lanes {
		f := lanes[j].floats
		for i := n; i < len(f); i++ {
			x := sf[j] * f[i].F
			if i > 1 {
				b[j] = tf[j]*(s1[j]-s0[j]) + (1-tf[j])*b[j]
			}
			y := (1 - sf[j]) * (s1[j] + b[j])
			s0[j], s1[j] = s1[j], x+y
		}
		out[j] = s1[j]
	}
}
