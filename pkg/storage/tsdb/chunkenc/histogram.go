package chunkenc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"

	"github.com/prometheus/prometheus/model/histogram"

	"github.com/graftlabs/graft/pkg/storage"
)

// A histogram chunk holds native histograms that share one bucket layout:
//
//	count uint16 | kind byte (0 integer, 1 float) | bits...
//
// The bits start with the layout (schema, zero threshold, custom bounds,
// positive and negative spans), then each sample: timestamp as in float
// chunks, the counter reset hint (2 bits), and every field (count, zero
// count, sum, buckets) relative to the same field of the previous sample:
// integer fields as coded deltas, float fields as XOR. A histogram with
// another layout starts a new chunk.
const histHeader = 3

// ErrLayoutChanged is returned by Append for a histogram whose bucket layout
// differs from the chunk's; the caller starts a new chunk.
var ErrLayoutChanged = errors.New("histogram bucket layout changed")

type layout struct {
	schema        int32
	zeroThreshold float64
	custom        []float64
	pos, neg      []histogram.Span
}

func layoutOf(h *histogram.Histogram, fh *histogram.FloatHistogram) layout {
	if h != nil {
		return layout{h.Schema, h.ZeroThreshold, h.CustomValues, h.PositiveSpans, h.NegativeSpans}
	}
	return layout{fh.Schema, fh.ZeroThreshold, fh.CustomValues, fh.PositiveSpans, fh.NegativeSpans}
}

func (l layout) equal(o layout) bool {
	return l.schema == o.schema && math.Float64bits(l.zeroThreshold) == math.Float64bits(o.zeroThreshold) &&
		slices.Equal(l.custom, o.custom) && slices.Equal(l.pos, o.pos) && slices.Equal(l.neg, o.neg)
}

func (l layout) write(w *bwriter) {
	w.writeVarint(int64(l.schema))
	w.writeBits(math.Float64bits(l.zeroThreshold), 64)
	w.writeVarint(int64(len(l.custom)))
	for _, v := range l.custom {
		w.writeBits(math.Float64bits(v), 64)
	}
	for _, spans := range [][]histogram.Span{l.pos, l.neg} {
		w.writeVarint(int64(len(spans)))
		for _, s := range spans {
			w.writeVarint(int64(s.Offset))
			w.writeVarint(int64(s.Length))
		}
	}
}

// maxLayoutItems bounds what a corrupt chunk can make the reader allocate.
const maxLayoutItems = 1 << 16

// readLayout reads a chunk's layout into the span slices of reuse, which
// it overwrites. Custom bounds get a slice of their own: float histograms
// share it (read-only, as Prometheus's chunks do), so it is never reused.
func readLayout(r *breader, reuse layout) (layout, error) {
	l := layout{pos: reuse.pos[:0], neg: reuse.neg[:0]}
	schema, err := r.readVarint()
	if err != nil {
		return l, err
	}
	l.schema = int32(schema)
	zt, err := r.readBits(64)
	if err != nil {
		return l, err
	}
	l.zeroThreshold = math.Float64frombits(zt)
	n, err := r.readVarint()
	if err != nil {
		return l, err
	}
	if n < 0 || n > maxLayoutItems {
		return l, fmt.Errorf("%d custom bucket bounds", n)
	}
	if n > 0 {
		l.custom = make([]float64, 0, n)
	}
	for range n {
		u, err := r.readBits(64)
		if err != nil {
			return l, err
		}
		l.custom = append(l.custom, math.Float64frombits(u))
	}
	for _, spans := range []*[]histogram.Span{&l.pos, &l.neg} {
		n, err := r.readVarint()
		if err != nil {
			return l, err
		}
		if n < 0 || n > maxLayoutItems {
			return l, fmt.Errorf("%d bucket spans", n)
		}
		for range n {
			off, err := r.readVarint()
			if err != nil {
				return l, err
			}
			length, err := r.readVarint()
			if err != nil {
				return l, err
			}
			if length < 0 || length > maxLayoutItems || off != int64(int32(off)) {
				return l, fmt.Errorf("bucket span %d:%d", off, length)
			}
			*spans = append(*spans, histogram.Span{Offset: int32(off), Length: uint32(length)})
		}
	}
	return l, nil
}

func (l layout) buckets() (pos, neg int) {
	for _, s := range l.pos {
		pos += int(s.Length)
	}
	for _, s := range l.neg {
		neg += int(s.Length)
	}
	return pos, neg
}

// HistogramChunk is an appendable chunk of integer or float histograms.
type HistogramChunk struct {
	w      bwriter
	float  bool
	layout layout
	ts     floatEncoder // timestamp state only
	ints   []int64      // previous integer fields: count, zero count, buckets
	floats []uint64     // previous float fields (bits): sum, or all fields
}

// NewHistogramChunk returns an empty chunk for integer or float histograms.
func NewHistogramChunk(float bool) *HistogramChunk {
	c := &HistogramChunk{float: float}
	c.w.b = make([]byte, histHeader, 64)
	if float {
		c.w.b[2] = 1
	}
	return c
}

// Encoding implements Chunk.
func (c *HistogramChunk) Encoding() Encoding {
	if c.float {
		return EncFloatHistogram
	}
	return EncHistogram
}

// Bytes implements Chunk.
func (c *HistogramChunk) Bytes() []byte { return c.w.b }

// NumSamples implements Chunk.
func (c *HistogramChunk) NumSamples() int { return int(binary.BigEndian.Uint16(c.w.b)) }

// Iterator implements Chunk.
func (c *HistogramChunk) Iterator(it storage.Iterator) storage.Iterator {
	return NewHistogramIterator(c.w.b, it)
}

// View is FloatChunk.View for histograms.
func (c *HistogramChunk) View() RawChunk { return view(c.Encoding(), c.w.b) }

// Append adds a histogram sample (exactly one of h and fh, of the chunk's
// kind); it returns ErrLayoutChanged when the chunk cannot hold it.
func (c *HistogramChunk) Append(t int64, h *histogram.Histogram, fh *histogram.FloatHistogram) error {
	if (fh != nil) != c.float || (h == nil) == (fh == nil) {
		return fmt.Errorf("histogram kind does not match the chunk")
	}
	n := c.NumSamples()
	if n == math.MaxUint16 {
		return ErrLayoutChanged
	}
	l := layoutOf(h, fh)
	if n == 0 {
		l.custom, l.pos, l.neg = slices.Clone(l.custom), slices.Clone(l.pos), slices.Clone(l.neg)
		c.layout = l
		l.write(&c.w)
	} else if !c.layout.equal(l) {
		return ErrLayoutChanged
	}
	c.ts.writeT(&c.w, n, t)
	hint := histogram.UnknownCounterReset
	if h != nil {
		hint = h.CounterResetHint
	} else {
		hint = fh.CounterResetHint
	}
	c.w.writeBits(uint64(hint), 2)
	if h != nil {
		c.appendInts(n, h)
	} else {
		c.appendFloats(n, fh)
	}
	binary.BigEndian.PutUint16(c.w.b, uint16(n+1))
	return nil
}

func (c *HistogramChunk) appendInts(n int, h *histogram.Histogram) {
	fields := make([]int64, 0, 2+len(h.PositiveBuckets)+len(h.NegativeBuckets))
	fields = append(fields, int64(h.Count), int64(h.ZeroCount))
	fields = append(append(fields, h.PositiveBuckets...), h.NegativeBuckets...)
	if n == 0 {
		c.ints = fields
		c.floats = []uint64{0}
	}
	for i, v := range fields {
		if n == 0 {
			c.w.writeVarint(v)
		} else {
			writeCoded(&c.w, v-c.ints[i], &valueTables[0])
		}
	}
	c.ints = fields
	writeFloatField(&c.w, &c.floats[0], h.Sum)
}

func (c *HistogramChunk) appendFloats(n int, fh *histogram.FloatHistogram) {
	fields := make([]float64, 0, 3+len(fh.PositiveBuckets)+len(fh.NegativeBuckets))
	fields = append(fields, fh.Count, fh.ZeroCount, fh.Sum)
	fields = append(append(fields, fh.PositiveBuckets...), fh.NegativeBuckets...)
	if n == 0 {
		c.floats = make([]uint64, len(fields))
	}
	for i, v := range fields {
		writeFloatField(&c.w, &c.floats[i], v)
	}
}

// writeFloatField writes v XORed with the field's previous value: '0' for
// no change, else '1', 6 bits of leading zeros, 6 bits of length, the bits.
func writeFloatField(w *bwriter, prev *uint64, v float64) {
	b := math.Float64bits(v)
	x := b ^ *prev
	*prev = b
	if x == 0 {
		w.writeBits(0, 1)
		return
	}
	lead, trail := bits.LeadingZeros64(x), bits.TrailingZeros64(x)
	sig := 64 - lead - trail
	w.writeBits(1, 1)
	w.writeBits(uint64(lead), 6)
	w.writeBits(uint64(sig-1), 6)
	w.writeBits(x>>uint(trail), sig)
}

func readFloatField(r *breader, prev *uint64) error {
	changed, err := r.readBit()
	if err != nil || !changed {
		return err
	}
	lead, err := r.readBits(6)
	if err != nil {
		return err
	}
	sig, err := r.readBits(6)
	if err != nil {
		return err
	}
	sig++
	if lead+sig > 64 {
		return fmt.Errorf("float field of %d+%d bits", lead, sig)
	}
	x, err := r.readBits(uint(sig))
	if err != nil {
		return err
	}
	*prev ^= x << (64 - lead - sig)
	return nil
}

// HistogramIterator decodes a histogram chunk.
type HistogramIterator struct {
	r      breader
	n, i   int
	float  bool
	layout layout
	npos   int
	ts     floatEncoder
	hint   histogram.CounterResetHint
	ints   []int64
	floats []uint64
	// fell says a count of the current sample is below the previous
	// sample's, to tell whether the counter reset.
	fell bool
	err  error
}

// NewHistogramIterator iterates over histogram chunk bytes, reusing it if possible.
func NewHistogramIterator(b []byte, it storage.Iterator) storage.Iterator {
	hi, ok := it.(*HistogramIterator)
	if !ok {
		hi = &HistogramIterator{}
	}
	if len(b) < histHeader {
		hi.init(0, false, breader{})
		if len(b) > 0 {
			hi.err = fmt.Errorf("histogram chunk of %d bytes: %w", len(b), errShortChunk)
		}
		return hi
	}
	hi.init(int(binary.BigEndian.Uint16(b)), b[2] == 1, newBReader(b[histHeader:]))
	return hi
}

// init starts reading n samples from r, keeping the iterator's buffers.
func (hi *HistogramIterator) init(n int, float bool, r breader) {
	*hi = HistogramIterator{i: -1, n: n, float: float, r: r, layout: hi.layout,
		ints: hi.ints[:0], floats: hi.floats[:0]}
	if hi.n == 0 {
		return
	}
	// The layout's span slices are reused: histograms handed out copy them.
	l, err := readLayout(&hi.r, hi.layout)
	if err != nil {
		hi.err = fmt.Errorf("decode histogram layout: %w", err)
		hi.n = 0
	}
	hi.layout = l
	pos, neg := l.buckets()
	hi.npos = pos
	if hi.float {
		hi.floats = slices.Grow(hi.floats, 3+pos+neg)[:3+pos+neg]
		clear(hi.floats)
	} else {
		hi.ints = slices.Grow(hi.ints, 2+pos+neg)[:2+pos+neg]
		hi.floats = append(hi.floats, 0)
	}
}

// Next implements storage.Iterator.
func (it *HistogramIterator) Next() storage.ValueType {
	if it.err != nil || it.i+1 >= it.n {
		it.i = it.n
		return storage.ValNone
	}
	it.i++
	if err := it.read(); err != nil {
		it.err = fmt.Errorf("decode histogram sample %d of %d: %w", it.i, it.n, err)
		it.i = it.n
		return storage.ValNone
	}
	if it.float {
		return storage.ValFloatHistogram
	}
	return storage.ValHistogram
}

func (it *HistogramIterator) read() error {
	it.fell = false
	if err := it.readFields(); err != nil {
		return err
	}
	// A sample appended without a counter reset hint is read as Prometheus's
	// chunks give it: not a reset if its counts did not fall below the
	// previous sample's in the chunk, else still unknown (PromQL then looks
	// for itself). The chunk's first keeps the stored hint.
	if it.hint == histogram.UnknownCounterReset && it.i > 0 && !it.fell {
		it.hint = histogram.NotCounterReset
	}
	return nil
}

func (it *HistogramIterator) readFields() error {
	fast := false
	if it.i >= 2 {
		var x int64
		if x, fast = it.r.readCodedFast(&tsTable); fast {
			it.ts.dt += x
			it.ts.t += it.ts.dt
		}
	}
	if !fast {
		if err := readTimestamp(&it.r, &it.ts, it.i); err != nil {
			return err
		}
	}
	hint, err := it.r.readBits(2)
	if err != nil {
		return err
	}
	it.hint = histogram.CounterResetHint(hint)
	if it.float {
		return it.readFloatFields()
	}
	if it.i == 0 {
		for i := range it.ints {
			if it.ints[i], err = it.r.readVarint(); err != nil {
				return err
			}
		}
	} else if err := it.addIntDeltas(); err != nil {
		return err
	}
	return readFloatField(&it.r, &it.floats[0])
}

// readFloatFields reads the fields of a float histogram, noting whether a
// count (any field but the sum, field 2) fell.
func (it *HistogramIterator) readFloatFields() error {
	f := math.Float64frombits
	for i := range it.floats {
		prev := it.floats[i]
		if err := readFloatField(&it.r, &it.floats[i]); err != nil {
			return err
		}
		if i != 2 && f(it.floats[i]) < f(prev) {
			it.fell = true
		}
	}
	return nil
}

// SeekTo implements storage.Iterator.
func (it *HistogramIterator) SeekTo(t int64) storage.ValueType {
	if it.i >= 0 && it.i < it.n && it.ts.t >= t {
		return it.valueType()
	}
	for {
		vt := it.Next()
		if vt == storage.ValNone || it.ts.t >= t {
			return vt
		}
	}
}

func (it *HistogramIterator) valueType() storage.ValueType {
	if it.float {
		return storage.ValFloatHistogram
	}
	return storage.ValHistogram
}

// At implements storage.Iterator; a histogram chunk has no floats.
func (it *HistogramIterator) At() (int64, float64) { return it.ts.t, 0 }

// AtT implements storage.Iterator.
func (it *HistogramIterator) AtT() int64 { return it.ts.t }

// Err implements storage.Iterator.
func (it *HistogramIterator) Err() error { return it.err }

// AtHistogram returns the current integer histogram, a fresh copy unless h
// is given to be overwritten. For a float chunk it returns h unchanged.
func (it *HistogramIterator) AtHistogram(h *histogram.Histogram) (int64, *histogram.Histogram) {
	if it.float {
		return it.ts.t, h
	}
	if h == nil {
		h = &histogram.Histogram{}
	}
	l := it.layout
	*h = histogram.Histogram{
		CounterResetHint: it.hint,
		Schema:           l.schema,
		ZeroThreshold:    l.zeroThreshold,
		ZeroCount:        uint64(it.ints[1]),
		Count:            uint64(it.ints[0]),
		Sum:              math.Float64frombits(it.floats[0]),
		PositiveSpans:    append(h.PositiveSpans[:0], l.pos...),
		NegativeSpans:    append(h.NegativeSpans[:0], l.neg...),
		PositiveBuckets:  append(h.PositiveBuckets[:0], it.ints[2:2+it.npos]...),
		NegativeBuckets:  append(h.NegativeBuckets[:0], it.ints[2+it.npos:]...),
		CustomValues:     append(h.CustomValues[:0], l.custom...),
	}
	normalizeNil(&h.PositiveSpans, &h.NegativeSpans)
	if len(h.PositiveBuckets) == 0 {
		h.PositiveBuckets = nil
	}
	if len(h.NegativeBuckets) == 0 {
		h.NegativeBuckets = nil
	}
	if len(h.CustomValues) == 0 {
		h.CustomValues = nil
	}
	return it.ts.t, h
}

func normalizeNil(spans ...*[]histogram.Span) {
	for _, s := range spans {
		if len(*s) == 0 {
			*s = nil
		}
	}
}

// AtFloatHistogram returns the current histogram as a float histogram,
// converting an integer one; fh is overwritten when given.
func (it *HistogramIterator) AtFloatHistogram(fh *histogram.FloatHistogram) (int64, *histogram.FloatHistogram) {
	if fh == nil {
		fh = &histogram.FloatHistogram{}
	}
	if !it.float {
		it.intsToFloat(fh)
		return it.ts.t, fh
	}
	l := it.layout
	f := func(u uint64) float64 { return math.Float64frombits(u) }
	*fh = histogram.FloatHistogram{
		CounterResetHint: it.hint,
		Schema:           l.schema,
		ZeroThreshold:    l.zeroThreshold,
		Count:            f(it.floats[0]),
		ZeroCount:        f(it.floats[1]),
		Sum:              f(it.floats[2]),
		PositiveSpans:    append(fh.PositiveSpans[:0], l.pos...),
		NegativeSpans:    append(fh.NegativeSpans[:0], l.neg...),
		PositiveBuckets:  fh.PositiveBuckets[:0],
		NegativeBuckets:  fh.NegativeBuckets[:0],
		CustomValues:     l.custom, // shared, read-only
	}
	for i, u := range it.floats[3:] {
		if i < it.npos {
			fh.PositiveBuckets = append(fh.PositiveBuckets, f(u))
		} else {
			fh.NegativeBuckets = append(fh.NegativeBuckets, f(u))
		}
	}
	normalizeNil(&fh.PositiveSpans, &fh.NegativeSpans)
	if len(fh.PositiveBuckets) == 0 {
		fh.PositiveBuckets = nil
	}
	if len(fh.NegativeBuckets) == 0 {
		fh.NegativeBuckets = nil
	}
	return it.ts.t, fh
}

// intsToFloat sets fh to the current integer histogram, as
// Histogram.ToFloat would, reusing fh's slices: no allocation per sample.
func (it *HistogramIterator) intsToFloat(fh *histogram.FloatHistogram) {
	l := it.layout
	*fh = histogram.FloatHistogram{
		CounterResetHint: it.hint,
		Schema:           l.schema,
		ZeroThreshold:    l.zeroThreshold,
		ZeroCount:        float64(it.ints[1]),
		Count:            float64(it.ints[0]),
		Sum:              math.Float64frombits(it.floats[0]),
		PositiveSpans:    append(fh.PositiveSpans[:0], l.pos...),
		NegativeSpans:    append(fh.NegativeSpans[:0], l.neg...),
		PositiveBuckets:  appendAbsolute(fh.PositiveBuckets[:0], it.ints[2:2+it.npos]),
		NegativeBuckets:  appendAbsolute(fh.NegativeBuckets[:0], it.ints[2+it.npos:]),
		CustomValues:     l.custom, // shared, read-only
	}
	normalizeNil(&fh.PositiveSpans, &fh.NegativeSpans)
	if len(fh.PositiveBuckets) == 0 {
		fh.PositiveBuckets = nil
	}
	if len(fh.NegativeBuckets) == 0 {
		fh.NegativeBuckets = nil
	}
}

// appendAbsolute appends the counts of delta-coded integer buckets.
func appendAbsolute(dst []float64, deltas []int64) []float64 {
	var cur int64
	for _, d := range deltas {
		cur += d
		dst = append(dst, float64(cur))
	}
	return dst
}

// HistogramChunkFromBytes reopens a histogram chunk for appending by
// replaying its samples into a new one.
func HistogramChunkFromBytes(b []byte) (*HistogramChunk, error) {
	if len(b) < histHeader {
		return nil, fmt.Errorf("histogram chunk of %d bytes: %w", len(b), errShortChunk)
	}
	c := NewHistogramChunk(b[2] == 1)
	it := NewHistogramIterator(b, nil)
	for vt := it.Next(); vt != storage.ValNone; vt = it.Next() {
		var err error
		if vt == storage.ValHistogram {
			t, h := it.AtHistogram(nil)
			err = c.Append(t, h, nil)
		} else {
			t, fh := it.AtFloatHistogram(nil)
			err = c.Append(t, nil, fh)
		}
		if err != nil {
			return nil, err
		}
	}
	return c, it.Err()
}

type errIterator struct{ err error }

func (e *errIterator) Next() storage.ValueType        { return storage.ValNone }
func (e *errIterator) SeekTo(int64) storage.ValueType { return storage.ValNone }
func (e *errIterator) At() (int64, float64)           { return 0, 0 }
func (e *errIterator) AtHistogram(h *histogram.Histogram) (int64, *histogram.Histogram) {
	return 0, h
}
func (e *errIterator) AtFloatHistogram(fh *histogram.FloatHistogram) (int64, *histogram.FloatHistogram) {
	return 0, fh
}
func (e *errIterator) AtT() int64 { return 0 }
func (e *errIterator) Err() error { return e.err }
