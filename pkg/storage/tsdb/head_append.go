package tsdb

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/storage"
	"github.com/graftlabs/graft/pkg/storage/tsdb/record"
)

type pendingSample struct {
	s  *memSeries
	t  int64
	st int64 // start timestamp, 0 when unknown
	v  float64
	h  *histogram.Histogram
	fh *histogram.FloatHistogram
	// ooo says the sample was accepted as a late one (floats only).
	ooo bool
}

type pendingExemplar struct {
	s *memSeries
	e exemplar.Exemplar
}

// headAppender buffers samples until Commit logs them to the WAL and adds
// them to their series.
type headAppender struct {
	head *Head
	*appendBuffers
}

// appendBuffers are an appender's batch and scratch space. They go back to
// a pool after each commit or rollback: scrape loops open an appender per
// scrape, and growing these anew each time costs more than the appends.
type appendBuffers struct {
	samples   []pendingSample
	exemplars []pendingExemplar

	// scratch for WAL records
	series []record.RefSeries
	// seriesOf holds the series of the records in series, in order.
	seriesOf []*memSeries
	hists    []record.RefHistogram
	data     []byte // samples and exemplars records
	dataEnds []int
	exs      []record.RefExemplar
	buf      []byte
	recs     [][]byte
	// logIndex holds the labels of series this batch logs, or will.
	logIndex map[*memSeries]labels.Labels
	logged   map[*memSeries]bool
	// pendingMax is the newest in-order time per series of the batch.
	pendingMax map[*memSeries]int64
	// withST says a sample of the batch has a start timestamp.
	withST bool
	// locked are the series the commit holds locked.
	locked []*memSeries
	feed   feedBatch
}

var appendBufferPool = sync.Pool{New: func() any { return &appendBuffers{} }}

// maxPooledSamples bounds the batches whose buffers are pooled, so that
// one huge batch does not pin its memory.
const maxPooledSamples = 1 << 16

// buffers gets the appender's buffers, from the pool on first use.
func (a *headAppender) buffers() {
	if a.appendBuffers == nil {
		a.appendBuffers = appendBufferPool.Get().(*appendBuffers)
	}
}

func (a *headAppender) resolve(ref storage.SeriesRef, lset labels.Labels) (*memSeries, error) {
	if ref != 0 {
		if s := a.head.series.getByRef(uint64(ref)); s != nil {
			return s, nil
		}
	}
	s, err := a.head.getOrCreate(lset)
	if err == nil && !s.logged.Load() {
		// Keep the labels for the series record: building them back from
		// the symbol table costs more than keeping them until the commit.
		a.buffers()
		if a.logIndex == nil {
			a.logIndex = map[*memSeries]labels.Labels{}
		}
		a.logIndex[s] = lset
	}
	return s, err
}

// Append implements storage.Appender.
func (a *headAppender) Append(ref storage.SeriesRef, lset labels.Labels, t int64, v float64) (storage.SeriesRef, error) {
	return a.add(ref, lset, pendingSample{t: t, v: v})
}

// AppendHistogram implements storage.Appender.
func (a *headAppender) AppendHistogram(ref storage.SeriesRef, lset labels.Labels, t int64, h *histogram.Histogram, fh *histogram.FloatHistogram) (storage.SeriesRef, error) {
	return a.appendHistogram(ref, lset, pendingSample{t: t, h: h, fh: fh})
}

func (a *headAppender) appendHistogram(ref storage.SeriesRef, lset labels.Labels, p pendingSample) (storage.SeriesRef, error) {
	h, fh := p.h, p.fh
	if (h == nil) == (fh == nil) {
		return 0, fmt.Errorf("%w: exactly one of integer and float histogram must be set", storage.ErrInvalidHistogram)
	}
	var err error
	if h != nil {
		err = h.Validate()
	} else {
		err = fh.Validate()
	}
	if err != nil {
		return 0, fmt.Errorf("%w: %w", storage.ErrInvalidHistogram, err)
	}
	return a.add(ref, lset, p)
}

// AppendWithStartTimestamp implements storage.StartTimestampAppender.
func (a *headAppender) AppendWithStartTimestamp(ref storage.SeriesRef, lset labels.Labels, st, t int64, v float64, h *histogram.Histogram, fh *histogram.FloatHistogram) (storage.SeriesRef, error) {
	switch {
	case fh != nil:
		return a.appendHistogram(ref, lset, pendingSample{t: t, st: st, fh: fh})
	case h != nil:
		return a.appendHistogram(ref, lset, pendingSample{t: t, st: st, h: h})
	}
	return a.add(ref, lset, pendingSample{t: t, st: st, v: v})
}

func (a *headAppender) add(ref storage.SeriesRef, lset labels.Labels, p pendingSample) (storage.SeriesRef, error) {
	s, err := a.resolve(ref, lset)
	if err != nil {
		return 0, err
	}
	h := a.head
	if p.t < h.minValidTime.Load() {
		if !h.oooAllowed(p.t) {
			return storage.SeriesRef(s.ref), storage.ErrOutOfBounds
		}
		p.ooo = true
	} else {
		dup, err := s.appendable(p.t, p.v, p.h, p.fh)
		if errors.Is(err, storage.ErrOutOfOrderSample) && h.oooAllowed(p.t) {
			p.ooo, err = true, nil
		}
		if err != nil || dup {
			return storage.SeriesRef(s.ref), err
		}
	}
	if p.ooo {
		if dup, err := s.oooDuplicate(p); err != nil || dup {
			return storage.SeriesRef(s.ref), err
		}
	}
	p.s = s
	a.buffers()
	a.samples = append(a.samples, p)
	a.withST = a.withST || p.st != 0
	return storage.SeriesRef(s.ref), nil
}

// AppendExemplar implements storage.Appender.
func (a *headAppender) AppendExemplar(ref storage.SeriesRef, lset labels.Labels, e exemplar.Exemplar) (storage.SeriesRef, error) {
	s, err := a.resolve(ref, lset)
	if err != nil {
		return 0, err
	}
	if err := validateExemplar(e); err != nil {
		return storage.SeriesRef(s.ref), err
	}
	if dup, err := a.head.exemplars.check(s.ref, e); err != nil || dup {
		return storage.SeriesRef(s.ref), err
	}
	a.buffers()
	a.exemplars = append(a.exemplars, pendingExemplar{s: s, e: e})
	return storage.SeriesRef(s.ref), nil
}

func validateExemplar(e exemplar.Exemplar) error {
	chars := 0
	e.Labels.Range(func(l labels.Label) { chars += len([]rune(l.Name)) + len([]rune(l.Value)) })
	if chars > exemplar.ExemplarMaxLabelSetLength {
		return storage.ErrExemplarLabelLength
	}
	return nil
}

// Commit implements storage.Appender: the samples are logged to the WAL and
// then made visible. With the commit fsync policy, it returns once they are
// on disk.
//
// Concurrent commits overlap: each locks its series (in ref order), writes
// the WAL and applies. A later commit that shares a series waits for that
// series' lock, which this one holds until it has applied, so every series
// gets its samples in the order the WAL has them and a replay rebuilds
// what the commits built.
func (a *headAppender) Commit() error {
	defer a.reset()
	if a.appendBuffers == nil || (len(a.samples) == 0 && len(a.exemplars) == 0) {
		return nil
	}
	h := a.head
	// The records are coded before the commit lock is taken; the rare
	// commit whose series or late samples changed meanwhile codes them
	// again.
	if h.wal != nil {
		a.encodeData()
	}
	recs := a.prepare()
	defer h.applying.RUnlock()
	defer a.unlockSeries()
	var seq uint64
	if h.wal != nil {
		var err error
		if seq, err = h.wal.Write(recs...); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		for _, s := range a.seriesOf {
			s.logged.Store(true)
		}
	}
	if h.beforeApply != nil {
		h.beforeApply()
	}
	a.apply()
	if h.wal != nil {
		if err := h.wal.WaitSynced(seq); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
	}
	return nil
}

// prepare readies the batch for the WAL and the apply: it locks the
// batch's series, settles which samples are late and builds the WAL
// records. It returns with the series locked and h.applying read-locked,
// which keeps garbage collection, truncation and checkpoints from running
// until the batch is applied.
func (a *headAppender) prepare() [][]byte {
	h := a.head
	// First: garbage collection, which removes series, holds it exclusively.
	h.applying.RLock()
	dirty := a.reresolve()
	a.lockSeries()
	// After the locks: an earlier commit's samples of these series are
	// applied by now, so their newest times are the ones to compare with.
	if h.oooWindow > 0 && a.classifyLate() {
		dirty = true
	}
	var recs [][]byte
	if h.wal != nil {
		if dirty {
			a.encodeData()
		}
		recs = a.records()
	}
	return recs
}

// lockSeries locks each series of the batch once, in the order of their
// refs: commits sharing series take them in one order, so none waits for
// another that waits for it, and no lock orders commits that share none.
// One that waits for a series gets it once the commit holding it has
// logged and applied.
func (a *headAppender) lockSeries() {
	for _, p := range a.samples {
		a.locked = append(a.locked, p.s)
	}
	for _, p := range a.exemplars {
		a.locked = append(a.locked, p.s)
	}
	byRef := func(x, y *memSeries) int { return cmp.Compare(x.ref, y.ref) }
	if !slices.IsSortedFunc(a.locked, byRef) {
		slices.SortFunc(a.locked, byRef)
	}
	a.locked = slices.Compact(a.locked)
	for _, s := range a.locked {
		s.mtx.Lock()
	}
}

func (a *headAppender) unlockSeries() {
	for _, s := range a.locked {
		s.mtx.Unlock()
	}
	clear(a.locked)
	a.locked = a.locked[:0]
}

// classifyLate marks as late the float samples that an earlier sample of
// the same series in this batch overtook, so that they are logged and
// applied as late samples; the ones outside the window are dropped.
// Callers hold the batch's series locks.
func (a *headAppender) classifyLate() (changed bool) {
	if a.pendingMax == nil {
		a.pendingMax = map[*memSeries]int64{}
	}
	clear(a.pendingMax)
	kept := a.samples[:0]
	for _, p := range a.samples {
		newest, ok := a.pendingMax[p.s]
		if !ok {
			newest = p.s.maxT.Load()
		}
		if !p.ooo && p.t <= newest {
			changed = true
			if !a.head.oooAllowed(p.t) {
				a.head.rejectedAtCommit.Add(1)
				continue
			}
			p.ooo = true
		}
		if !p.ooo {
			a.pendingMax[p.s] = p.t
		}
		kept = append(kept, p)
	}
	clear(a.samples[len(kept):])
	a.samples = kept
	return changed
}

// reresolve swaps series that garbage collection removed since Append for
// their live successors. Callers hold h.applying, which garbage collection
// takes exclusively.
func (a *headAppender) reresolve() (changed bool) {
	for i := range a.samples {
		if s := a.samples[i].s; s.removed != nil {
			a.samples[i].s = a.head.recreate(s)
			changed = true
		}
	}
	for i := range a.exemplars {
		if s := a.exemplars[i].s; s.removed != nil {
			a.exemplars[i].s = a.head.recreate(s)
			changed = true
		}
	}
	return changed
}

// encodeData codes the batch as WAL records: its new series, then its
// samples in runs of one kind each, in append order (replay must apply them
// in the order commit does), then its exemplars.
func (a *headAppender) encodeData() {
	a.encodeSeries()
	a.data, a.dataEnds = a.data[:0], a.dataEnds[:0]
	for i := 0; i < len(a.samples); {
		kind := sampleKind(a.samples[i])
		j := i
		for j < len(a.samples) && sampleKind(a.samples[j]) == kind {
			j++
		}
		a.data = a.encodeRun(a.data, a.samples[i:j], kind)
		a.dataEnds = append(a.dataEnds, len(a.data))
		i = j
	}
	if len(a.exemplars) > 0 {
		a.exs = a.exs[:0]
		for _, p := range a.exemplars {
			a.exs = append(a.exs, record.RefExemplar{Ref: p.s.ref, T: p.e.Ts, V: p.e.Value, HasTs: p.e.HasTs, Labels: p.e.Labels})
		}
		a.data = record.EncodeExemplars(a.data, a.exs)
		a.dataEnds = append(a.dataEnds, len(a.data))
	}
}

// encodeSeries codes the definitions of the batch's series not logged yet.
// It runs before the commit lock: a series another commit logs meanwhile is
// then defined twice, which replay takes as once; one logged already is in
// the WAL before this batch's samples, since its flag is set after the
// write.
func (a *headAppender) encodeSeries() {
	a.series = a.series[:0]
	clear(a.seriesOf)
	a.seriesOf = a.seriesOf[:0]
	clear(a.logged)
	logSeries := func(s *memSeries) {
		if s.logged.Load() || a.logged[s] {
			return
		}
		if a.logged == nil {
			a.logged = map[*memSeries]bool{}
		}
		a.logged[s] = true
		lset, ok := a.logIndex[s]
		if !ok {
			lset = a.head.labelsOf(s)
		}
		a.series = append(a.series, record.RefSeries{Ref: s.ref, Labels: lset})
		a.seriesOf = append(a.seriesOf, s)
	}
	for _, p := range a.samples {
		logSeries(p.s)
	}
	for _, p := range a.exemplars {
		logSeries(p.s)
	}
	if len(a.series) > 0 {
		a.buf = record.EncodeSeries(a.buf[:0], a.series)
	}
}

// records returns the batch's coded WAL records: the definitions of series
// not logged yet, then the samples and exemplars.
func (a *headAppender) records() [][]byte {
	a.recs = a.recs[:0]
	if len(a.series) > 0 {
		a.recs = append(a.recs, a.buf)
	}
	start := 0
	for _, end := range a.dataEnds {
		a.recs = append(a.recs, a.data[start:end])
		start = end
	}
	return a.recs
}

// The kinds of samples, each logged in records of its own; a late sample's
// kind has kindLate added.
const (
	kindFloat = iota
	kindHistogram
	kindFloatHistogram
	kindLate = 4
)

func sampleKind(p pendingSample) int {
	k := kindFloat
	switch {
	case p.h != nil:
		k = kindHistogram
	case p.fh != nil:
		k = kindFloatHistogram
	}
	if p.ooo {
		k += kindLate
	}
	return k
}

func (a *headAppender) encodeRun(b []byte, run []pendingSample, kind int) []byte {
	late := kind >= kindLate
	if kind%kindLate == kindFloat {
		var e record.SamplesEncoder
		if a.withST && anyST(run) {
			return encodeSTRun(b, &e, run, late)
		}
		b = e.Start(b, late)
		for _, p := range run {
			b = e.Append(b, p.s.ref, p.t, p.v)
		}
		return b
	}
	a.hists = a.hists[:0]
	for _, p := range run {
		a.hists = append(a.hists, record.RefHistogram{Ref: p.s.ref, T: p.t, ST: p.st, H: p.h, FH: p.fh})
	}
	if late {
		return record.EncodeOOOHistograms(b, a.hists, kind%kindLate == kindFloatHistogram)
	}
	return record.EncodeHistograms(b, a.hists, kind%kindLate == kindFloatHistogram)
}

// apply adds the batch to its series, which the caller has locked.
func (a *headAppender) apply() {
	h := a.head
	if h.feed != nil {
		h.feed.begin(&a.feed)
	}
	mint, maxt := int64(math.MaxInt64), int64(math.MinInt64)
	var added, rejected int64
	for i, p := range a.samples {
		a.prefetch(i)
		s := p.s
		if !h.applySample(s, p) {
			rejected++
			continue
		}
		added++
		if s.maxT.Load() == p.t { // in order; late samples leave the bounds
			mint, maxt = min(mint, p.t), max(maxt, p.t)
		}
		if h.feed != nil {
			a.feed.observe(s.ref, p.t)
		}
	}
	if added > 0 {
		if maxt != math.MinInt64 {
			h.updateBounds(mint, maxt)
		}
		h.numSamples.Add(added)
	}
	h.rejectedAtCommit.Add(rejected)
	for _, p := range a.exemplars {
		h.exemplars.add(p.s.ref, p.e)
	}
	if h.feed != nil {
		h.feed.commit(&a.feed)
	}
}

// prefetch starts loading the open float chunks apply appends to next:
// the chunk's fields far ahead, its bytes (found through those fields, in
// cache by then) nearer. The batch's series are locked and in cache.
func (a *headAppender) prefetch(i int) {
	if j := i + 2*prefetchAhead; j < len(a.samples) {
		if c := a.samples[j].s.openFloat(); c != nil {
			c.PrefetchState()
		}
	}
	if j := i + prefetchAhead; j < len(a.samples) {
		if c := a.samples[j].s.openFloat(); c != nil {
			c.PrefetchBytes()
		}
	}
}

// prefetchAhead is how many samples apart the two prefetches of a chunk
// are issued, and the second before its append: a few hundred
// nanoseconds, a load from memory.
const prefetchAhead = 6

// Rollback implements storage.Appender.
func (a *headAppender) Rollback() error {
	a.reset()
	return nil
}

func (a *headAppender) reset() {
	b := a.appendBuffers
	if b == nil {
		return
	}
	a.appendBuffers = nil
	if cap(b.samples) > maxPooledSamples {
		return
	}
	clear(b.samples) // drop series and histogram pointers
	clear(b.exemplars)
	clear(b.series)
	clear(b.seriesOf)
	clear(b.hists)
	clear(b.exs)
	clear(b.logIndex)
	clear(b.logged)
	clear(b.pendingMax)
	b.samples, b.exemplars, b.recs = b.samples[:0], b.exemplars[:0], b.recs[:0]
	b.withST = false
	appendBufferPool.Put(b)
}

// applySample adds a logged sample to its series, as commit and replay
// both do: in order, or as a late sample if it was logged as one. An
// in-order sample that is not after the newest is dropped: at commit, a
// sample of a concurrent commit overtook it (classifyLate handles those of
// the same commit); at replay, the checkpoint already holds it. Callers
// hold s.mtx (or own s during replay).
func (h *Head) applySample(s *memSeries, p pendingSample) bool {
	if !p.ooo {
		return s.append(p.t, p.st, p.v, p.h, p.fh, h.blockRange)
	}
	if s.insertOOO(p, h.nextOOOSeq) {
		h.oooAppended.Add(1)
		return true
	}
	return false
}
