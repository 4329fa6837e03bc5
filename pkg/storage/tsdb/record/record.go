// Package record encodes the WAL's records: series definitions, float and
// histogram samples, and exemplars. Samples name their series by ref; a
// series record always precedes the first sample that uses its ref.
package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/storage/tsdb/encoding"
)

// Type is the first byte of a record.
type Type byte

// The record types.
const (
	TypeSeries         Type = 1
	TypeSamples        Type = 2
	TypeHistograms     Type = 3
	TypeFloatHistogram Type = 4
	TypeExemplars      Type = 5
	// TypeOOOSamples holds float samples accepted as out of order: replay
	// inserts them as late samples, as the commit did.
	TypeOOOSamples Type = 6
	// TypeOOOHistograms and TypeOOOFloatHistograms are the histogram
	// records of samples accepted as out of order.
	TypeOOOHistograms      Type = 7
	TypeOOOFloatHistograms Type = 8

	// STFlag, added to the type of a samples or histogram record, says
	// that each of its samples carries a start timestamp. Records carry
	// them only when one of their samples has one, so that batches without
	// any are logged as before.
	STFlag Type = 0x40
	// IntFlag, added to the type of a float samples record, says that
	// each sample says whether its value is an integer, coded as a
	// zig-zag varint, or 8 raw bytes. Most values are integers (counters,
	// gauges of whole things), most of them small: below 2^27 they take
	// one to four bytes. A scrape's record is about half the size, and the
	// page cache and writeback of those bytes cost ingestion more than
	// encoding them.
	// Encoders set it on every samples record; records without it decode
	// as before.
	IntFlag Type = 0x20
)

// Base is the type of the records without flags that t, a flagged samples
// or histogram type, stands for; any other type is its own (flagged
// series or exemplar records, or histogram records with IntFlag, are of no
// known type).
func (t Type) Base() Type {
	b := t &^ (STFlag | IntFlag)
	switch {
	case b == TypeSamples || b == TypeOOOSamples:
		return b
	case t&IntFlag == 0 && b >= TypeHistograms && b <= TypeOOOFloatHistograms && b != TypeExemplars:
		return b
	}
	return t
}

// HasST says that records of type t carry start timestamps.
func (t Type) HasST() bool { return t&STFlag != 0 && t.Base() != t }

// hasIntValues says that a samples record of type t flags integer values.
func (t Type) hasIntValues() bool { return t&IntFlag != 0 && t.Base() != t }

// Late says whether records of type t hold samples accepted out of order.
func Late(t Type) bool {
	t = t.Base()
	return t == TypeOOOSamples || t == TypeOOOHistograms || t == TypeOOOFloatHistograms
}

// RefSeries defines a series.
type RefSeries struct {
	Ref    uint64
	Labels labels.Labels
}

// RefSample is one float sample of a series; ST is its start timestamp,
// 0 when unknown.
type RefSample struct {
	Ref uint64
	T   int64
	V   float64
	ST  int64
}

// RefHistogram is one native histogram sample; exactly one of H and FH is set.
type RefHistogram struct {
	Ref uint64
	T   int64
	ST  int64
	H   *histogram.Histogram
	FH  *histogram.FloatHistogram
}

// RefExemplar is one exemplar of a series.
type RefExemplar struct {
	Ref    uint64
	T      int64
	V      float64
	HasTs  bool
	Labels labels.Labels
}

// ErrTruncated is returned for a record that ends inside a field.
var ErrTruncated = errors.New("record truncated")

// TypeOf returns the type of an encoded record.
func TypeOf(b []byte) Type {
	if len(b) == 0 {
		return 0
	}
	return Type(b[0])
}

// EncodeSeries appends a series record to b.
func EncodeSeries(b []byte, series []RefSeries) []byte {
	b = append(b, byte(TypeSeries))
	for _, s := range series {
		b = binary.AppendUvarint(b, s.Ref)
		b = binary.AppendUvarint(b, uint64(s.Labels.Len()))
		s.Labels.Range(func(l labels.Label) {
			b = appendString(b, l.Name)
			b = appendString(b, l.Value)
		})
	}
	return b
}

// EncodeSamples appends a samples record: refs and timestamps as deltas
// from the previous sample, values as varint integers or raw float64 bits
// (see IntFlag).
func EncodeSamples(b []byte, samples []RefSample) []byte {
	return encodeSamples(b, TypeSamples, samples)
}

// EncodeOOOSamples appends a record of samples accepted out of order, coded
// as a samples record.
func EncodeOOOSamples(b []byte, samples []RefSample) []byte {
	return encodeSamples(b, TypeOOOSamples, samples)
}

// SamplesEncoder appends a samples record one sample at a time, for
// callers that do not hold their samples as RefSamples.
type SamplesEncoder struct {
	prevRef uint64
	prevT   int64
}

// StartWithST begins a samples record whose samples carry start
// timestamps: they are added with AppendWithST.
func (e *SamplesEncoder) StartWithST(b []byte, late bool) []byte {
	b = e.Start(b, late)
	b[len(b)-1] |= byte(STFlag)
	return b
}

// AppendWithST adds a sample and its start timestamp to a record begun
// by StartWithST.
func (e *SamplesEncoder) AppendWithST(b []byte, ref uint64, t, st int64, v float64) []byte {
	return appendST(e.Append(b, ref, t, v), t, st)
}

// appendST codes a start timestamp: 0 for none, else 1 + the zig-zag
// coded distance to its sample's time (small for deltas and recent
// starts). A distance of exactly -2^63 would read back as none.
func appendST(b []byte, t, st int64) []byte {
	if st == 0 {
		return append(b, 0)
	}
	d := t - st
	return binary.AppendUvarint(b, (uint64(d<<1)^uint64(d>>63))+1)
}

func (r *reader) st(t int64) int64 {
	u := r.Uvarint()
	if u == 0 {
		return 0
	}
	u--
	return t - (int64(u>>1) ^ -int64(u&1))
}

func anySTSample(samples []RefSample) bool {
	for _, s := range samples {
		if s.ST != 0 {
			return true
		}
	}
	return false
}

func anySTHistogram(hs []RefHistogram) bool {
	for _, s := range hs {
		if s.ST != 0 {
			return true
		}
	}
	return false
}

// Start begins a samples record (late: an out-of-order samples record).
func (e *SamplesEncoder) Start(b []byte, late bool) []byte {
	*e = SamplesEncoder{}
	if late {
		return append(b, byte(TypeOOOSamples|IntFlag))
	}
	return append(b, byte(TypeSamples|IntFlag))
}

// Append adds a sample to the record.
func (e *SamplesEncoder) Append(b []byte, ref uint64, t int64, v float64) []byte {
	b = appendSample(b, ref-e.prevRef, t-e.prevT, v)
	e.prevRef, e.prevT = ref, t
	return b
}

// appendSample codes a sample of a record with IntFlag: its ref's and
// time's distances to the previous sample's, the ref's shifted left to
// carry whether the value is an integer (refs stay far below 2^62).
func appendSample(b []byte, dRef uint64, dt int64, v float64) []byte {
	i, isInt := asInt(v)
	flag := int64(0)
	if isInt {
		flag = 1
	}
	b = binary.AppendVarint(b, int64(dRef)<<1|flag)
	b = binary.AppendVarint(b, dt)
	if isInt {
		return binary.AppendVarint(b, i)
	}
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
}

// asInt returns v as an integer if that is exact and its varint takes at
// most 8 bytes; -0 is not one (its sign would be lost).
func asInt(v float64) (int64, bool) {
	i := int64(v) // implementation-defined out of range: checked below
	return i, float64(i) == v && i > -1<<53 && i < 1<<53 && math.Float64bits(v) != 1<<63
}

func encodeSamples(b []byte, t Type, samples []RefSample) []byte {
	withST := anySTSample(samples)
	if withST {
		t |= STFlag
	}
	b = append(b, byte(t|IntFlag))
	var prevRef uint64
	var prevT int64
	for _, s := range samples {
		b = appendSample(b, s.Ref-prevRef, s.T-prevT, s.V)
		if withST {
			b = appendST(b, s.T, s.ST)
		}
		prevRef, prevT = s.Ref, s.T
	}
	return b
}

// EncodeHistograms appends a record of integer histograms (the H of each
// sample) or float histograms (FH), according to float.
func EncodeHistograms(b []byte, hs []RefHistogram, float bool) []byte {
	return encodeHistograms(b, hs, float, false)
}

// EncodeOOOHistograms appends a record of histograms accepted out of order.
func EncodeOOOHistograms(b []byte, hs []RefHistogram, float bool) []byte {
	return encodeHistograms(b, hs, float, true)
}

func encodeHistograms(b []byte, hs []RefHistogram, float, late bool) []byte {
	t := TypeHistograms
	switch {
	case float && late:
		t = TypeOOOFloatHistograms
	case float:
		t = TypeFloatHistogram
	case late:
		t = TypeOOOHistograms
	}
	withST := anySTHistogram(hs)
	if withST {
		t |= STFlag
	}
	b = append(b, byte(t))
	for _, s := range hs {
		b = binary.AppendUvarint(b, s.Ref)
		b = binary.AppendVarint(b, s.T)
		if withST {
			b = appendST(b, s.T, s.ST)
		}
		if float {
			b = appendFloatHistogram(b, s.FH)
		} else {
			b = appendHistogram(b, s.H)
		}
	}
	return b
}

// EncodeExemplars appends an exemplars record.
func EncodeExemplars(b []byte, es []RefExemplar) []byte {
	b = append(b, byte(TypeExemplars))
	for _, e := range es {
		b = binary.AppendUvarint(b, e.Ref)
		b = binary.AppendVarint(b, e.T)
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(e.V))
		if e.HasTs {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
		b = binary.AppendUvarint(b, uint64(e.Labels.Len()))
		e.Labels.Range(func(l labels.Label) {
			b = appendString(b, l.Name)
			b = appendString(b, l.Value)
		})
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendSpans(b []byte, spans []histogram.Span) []byte {
	b = binary.AppendUvarint(b, uint64(len(spans)))
	for _, s := range spans {
		b = binary.AppendVarint(b, int64(s.Offset))
		b = binary.AppendUvarint(b, uint64(s.Length))
	}
	return b
}

func appendFloats(b []byte, fs []float64) []byte {
	b = binary.AppendUvarint(b, uint64(len(fs)))
	for _, f := range fs {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(f))
	}
	return b
}

func appendHistogram(b []byte, h *histogram.Histogram) []byte {
	b = append(b, byte(h.CounterResetHint))
	b = binary.AppendVarint(b, int64(h.Schema))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(h.ZeroThreshold))
	b = binary.AppendUvarint(b, h.ZeroCount)
	b = binary.AppendUvarint(b, h.Count)
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(h.Sum))
	b = appendSpans(b, h.PositiveSpans)
	b = appendSpans(b, h.NegativeSpans)
	for _, bs := range [][]int64{h.PositiveBuckets, h.NegativeBuckets} {
		b = binary.AppendUvarint(b, uint64(len(bs)))
		for _, v := range bs {
			b = binary.AppendVarint(b, v)
		}
	}
	return appendFloats(b, h.CustomValues)
}

func appendFloatHistogram(b []byte, h *histogram.FloatHistogram) []byte {
	b = append(b, byte(h.CounterResetHint))
	b = binary.AppendVarint(b, int64(h.Schema))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(h.ZeroThreshold))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(h.ZeroCount))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(h.Count))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(h.Sum))
	b = appendSpans(b, h.PositiveSpans)
	b = appendSpans(b, h.NegativeSpans)
	b = appendFloats(b, h.PositiveBuckets)
	b = appendFloats(b, h.NegativeBuckets)
	return appendFloats(b, h.CustomValues)
}

// Decoder reads records; it keeps no state between records.
type Decoder struct{}

// reader decodes a record's fields; a field cut short records ErrTruncated.
type reader struct{ encoding.Decbuf }

func newReader(b []byte) *reader { return &reader{encoding.New(b, ErrTruncated)} }

func (r *reader) str() string { return string(r.Bytes(uint64(r.Count(1)))) }

func (r *reader) labels(sb *labels.ScratchBuilder) labels.Labels {
	n := r.Count(2)
	sb.Reset()
	for range n {
		name := r.str()
		value := r.str()
		if r.Err() != nil {
			return labels.EmptyLabels()
		}
		sb.Add(name, value)
	}
	sb.Sort()
	return sb.Labels()
}

func check(b []byte, t Type) (*reader, error) {
	if TypeOf(b) != t {
		return nil, fmt.Errorf("record type %d, want %d", TypeOf(b), t)
	}
	return newReader(b[1:]), nil
}

// Series decodes a series record, appending to into.
func (Decoder) Series(b []byte, into []RefSeries) ([]RefSeries, error) {
	r, err := check(b, TypeSeries)
	if err != nil {
		return into, err
	}
	var sb labels.ScratchBuilder
	for len(r.B) > 0 && r.Err() == nil {
		ref := r.Uvarint()
		lset := r.labels(&sb)
		if r.Err() == nil {
			into = append(into, RefSeries{Ref: ref, Labels: lset})
		}
	}
	return into, r.Err()
}

// Samples decodes a samples or out-of-order samples record, appending to
// into.
func (Decoder) Samples(b []byte, into []RefSample) ([]RefSample, error) {
	typ := TypeOf(b)
	if typ.Base() != TypeSamples && typ.Base() != TypeOOOSamples {
		return into, fmt.Errorf("record type %d, want %d or %d", typ, TypeSamples, TypeOOOSamples)
	}
	r := newReader(b[1:])
	ints, withST := typ.hasIntValues(), typ.HasST()
	var ref uint64
	var t int64
	for len(r.B) > 0 && r.Err() == nil {
		dRef, isInt := r.Varint(), false
		if ints {
			dRef, isInt = dRef>>1, dRef&1 == 1
		}
		ref += uint64(dRef)
		t += r.Varint()
		s := RefSample{Ref: ref, T: t}
		if isInt {
			s.V = float64(r.Varint())
		} else {
			s.V = r.F64()
		}
		if withST {
			s.ST = r.st(t)
		}
		if r.Err() == nil {
			into = append(into, s)
		}
	}
	return into, r.Err()
}

// Histograms decodes an integer or float histogram record.
func (Decoder) Histograms(b []byte, into []RefHistogram) ([]RefHistogram, error) {
	typ := TypeOf(b)
	t := typ.Base()
	float := t == TypeFloatHistogram || t == TypeOOOFloatHistograms
	if !float && t != TypeHistograms && t != TypeOOOHistograms {
		return into, fmt.Errorf("record type %d is not a histogram record", typ)
	}
	r := newReader(b[1:])
	withST := typ.HasST()
	for len(r.B) > 0 && r.Err() == nil {
		s := RefHistogram{Ref: r.Uvarint(), T: r.Varint()}
		if withST {
			s.ST = r.st(s.T)
		}
		if float {
			s.FH = r.floatHistogram()
		} else {
			s.H = r.histogram()
		}
		if r.Err() == nil {
			into = append(into, s)
		}
	}
	return into, r.Err()
}

func (r *reader) spans() []histogram.Span {
	n := r.Count(2)
	if n == 0 || r.Err() != nil {
		return nil
	}
	out := make([]histogram.Span, n)
	for i := range out {
		out[i] = histogram.Span{Offset: int32(r.Varint()), Length: uint32(r.Uvarint())}
	}
	return out
}

func (r *reader) floats() []float64 {
	n := r.Count(8)
	if n == 0 || r.Err() != nil {
		return nil
	}
	out := make([]float64, n)
	for i := range out {
		out[i] = r.F64()
	}
	return out
}

func (r *reader) ints() []int64 {
	n := r.Count(1)
	if n == 0 || r.Err() != nil {
		return nil
	}
	out := make([]int64, n)
	for i := range out {
		out[i] = r.Varint()
	}
	return out
}

func (r *reader) histogram() *histogram.Histogram {
	h := &histogram.Histogram{CounterResetHint: histogram.CounterResetHint(r.Byte())}
	h.Schema = int32(r.Varint())
	h.ZeroThreshold = r.F64()
	h.ZeroCount = r.Uvarint()
	h.Count = r.Uvarint()
	h.Sum = r.F64()
	h.PositiveSpans = r.spans()
	h.NegativeSpans = r.spans()
	h.PositiveBuckets = r.ints()
	h.NegativeBuckets = r.ints()
	h.CustomValues = r.floats()
	return h
}

func (r *reader) floatHistogram() *histogram.FloatHistogram {
	h := &histogram.FloatHistogram{CounterResetHint: histogram.CounterResetHint(r.Byte())}
	h.Schema = int32(r.Varint())
	h.ZeroThreshold = r.F64()
	h.ZeroCount = r.F64()
	h.Count = r.F64()
	h.Sum = r.F64()
	h.PositiveSpans = r.spans()
	h.NegativeSpans = r.spans()
	h.PositiveBuckets = r.floats()
	h.NegativeBuckets = r.floats()
	h.CustomValues = r.floats()
	return h
}

// Exemplars decodes an exemplars record.
func (Decoder) Exemplars(b []byte, into []RefExemplar) ([]RefExemplar, error) {
	r, err := check(b, TypeExemplars)
	if err != nil {
		return into, err
	}
	var sb labels.ScratchBuilder
	for len(r.B) > 0 && r.Err() == nil {
		e := RefExemplar{Ref: r.Uvarint(), T: r.Varint(), V: r.F64(), HasTs: r.Byte() == 1}
		e.Labels = r.labels(&sb)
		if r.Err() == nil {
			into = append(into, e)
		}
	}
	return into, r.Err()
}
