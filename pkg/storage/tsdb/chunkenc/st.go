package chunkenc

import (
	"encoding/binary"
	"fmt"

	"github.com/graftlabs/graft/pkg/storage"
)

// Start timestamps (ST: a sample's created timestamp, or the start of its
// delta interval; 0 when unknown) are kept as an optional column beside a
// chunk's values: a chunk none of whose samples has one is stored exactly
// as before, and the value decoders never look at the column. A chunk with
// one has EncST added to its encoding and its bytes are
//
//	values length uvarint | values (the chunk without STs) | ST column
//
// The column is a format byte, then bits:
//
//   - stGeneral: one code per sample, by prefix:
//     '0' the previous sample's ST (0 before the first: unknown),
//     '10' the previous sample's time (deltas whose ST is the previous T),
//     '110' the previous sample's distance from its ST (ST = T - 1ms, ST = T),
//     '1110' unknown (0), '1111' then varint(ST - T).
//   - stUniform: the first sample's ST as varint(ST - T), then one of the
//     first three codes, which every later sample follows: the usual case
//     of a chunk (a counter between resets, a run of deltas) in a few bytes.
//
// Readers decode the column in step with the values (they need each T).
const (
	// EncST marks a chunk whose bytes carry a start timestamp column.
	EncST Encoding = 0x80

	stGeneral = 1
	stUniform = 2

	stSame     = 0 // code '0'
	stPrevT    = 1 // code '10'
	stOffset   = 2 // code '110'
	stZero     = 3 // code '1110'
	stExplicit = 4 // code '1111' varint
)

// Base is the encoding of the chunk's values, without EncST.
func (e Encoding) Base() Encoding { return e &^ EncST }

// HasST says the chunk carries a start timestamp column.
func (e Encoding) HasST() bool { return e&EncST != 0 }

// stPredict is the start timestamp code k predicts for a sample at t after
// one at prevT with start timestamp prevST (codes stSame to stZero).
func stPredict(k int, t, prevT, prevST int64) int64 {
	switch k {
	case stSame:
		return prevST
	case stPrevT:
		return prevT
	case stOffset:
		return t + (prevST - prevT)
	}
	return 0
}

// stColumn codes a chunk's start timestamps as they are appended, in the
// general format.
type stColumn struct {
	w             bwriter
	n             int
	prevT, prevST int64
}

// newSTColumn starts a column for a chunk holding n samples of unknown
// start timestamp, the last of them at lastT.
func newSTColumn(n int, lastT int64) stColumn {
	c := stColumn{w: bwriter{b: make([]byte, 1, 8+n/8)}, n: n, prevT: lastT}
	c.w.b[0] = stGeneral
	for range n {
		c.w.writeBits(0, 1)
	}
	return c
}

// Append codes the start timestamp st of the next sample, at t.
func (c *stColumn) Append(t, st int64) {
	k := stExplicit
	for code := stSame; code <= stZero; code++ {
		if (code == stSame || code == stZero || c.n > 0) && st == stPredict(code, t, c.prevT, c.prevST) {
			k = code
			break
		}
	}
	writeSTCode(&c.w, k)
	if k == stExplicit {
		c.w.writeVarint(st - t)
	}
	c.n++
	c.prevT, c.prevST = t, st
}

// Bytes returns the column's bytes; they change with the next Append.
func (c *stColumn) Bytes() []byte { return c.w.b }

func writeSTCode(w *bwriter, k int) {
	// k ones, then a zero unless k is the longest code.
	if k == stExplicit {
		w.writeBits(0xf, 4)
		return
	}
	w.writeBits(uint64(1)<<(k+1)-2, k+1)
}

// EncodeST codes the start timestamps sts of samples at ts as a column,
// in the smaller format; nil when every one is 0 (unknown).
func EncodeST(ts, sts []int64) []byte {
	known := false
	for _, st := range sts {
		known = known || st != 0
	}
	if !known || len(ts) != len(sts) {
		return nil
	}
	if b, ok := encodeUniform(ts, sts); ok {
		return b
	}
	c := newSTColumn(0, 0)
	for i := range ts {
		c.Append(ts[i], sts[i])
	}
	return c.w.b
}

// encodeUniform codes the column in the uniform format if one code
// predicts every start timestamp after the first.
func encodeUniform(ts, sts []int64) ([]byte, bool) {
	for k := stSame; k <= stOffset; k++ {
		ok := true
		for i := 1; i < len(ts) && ok; i++ {
			ok = sts[i] == stPredict(k, ts[i], ts[i-1], sts[i-1])
		}
		if ok {
			w := bwriter{b: []byte{stUniform}}
			w.writeVarint(sts[0] - ts[0])
			writeSTCode(&w, k)
			return w.b, true
		}
	}
	return nil, false
}

// stReader decodes a column in step with its chunk's samples.
type stReader struct {
	r             breader
	uniform       bool
	rule          int // uniform: the code of every sample after the first
	n             int // samples decoded
	prevT, prevST int64
}

func (d *stReader) reset(col []byte) error {
	*d = stReader{}
	if len(col) == 0 {
		return fmt.Errorf("start timestamp column of 0 bytes: %w", errShortChunk)
	}
	switch col[0] {
	case stGeneral:
		d.r = newBReader(col[1:])
		return nil
	case stUniform:
		d.uniform, d.r = true, newBReader(col[1:])
		return nil
	}
	return fmt.Errorf("unknown start timestamp format %d", col[0])
}

// next decodes the start timestamp of the next sample, at t.
func (d *stReader) next(t int64) (int64, error) {
	var st int64
	var err error
	switch {
	case d.uniform && d.n == 0:
		st, err = d.readUniformHead(t)
	case d.uniform:
		st = stPredict(d.rule, t, d.prevT, d.prevST)
	default:
		st, err = d.readCode(t)
	}
	if err != nil {
		return 0, err
	}
	d.n++
	d.prevT, d.prevST = t, st
	return st, nil
}

func (d *stReader) readUniformHead(t int64) (int64, error) {
	x, err := d.r.readVarint()
	if err != nil {
		return 0, err
	}
	k, err := d.r.leadingOnes(4)
	if err != nil {
		return 0, err
	}
	if k > stOffset {
		return 0, fmt.Errorf("uniform start timestamp code %d", k)
	}
	d.rule = int(k)
	return t + x, nil
}

func (d *stReader) readCode(t int64) (int64, error) {
	k, err := d.r.leadingOnes(4)
	if err != nil {
		return 0, err
	}
	switch {
	case k == stExplicit:
		x, err := d.r.readVarint()
		return t + x, err
	case d.n == 0 && (k == stPrevT || k == stOffset):
		return 0, fmt.Errorf("start timestamp code %d for a first sample", k)
	}
	return stPredict(int(k), t, d.prevT, d.prevST), nil
}

// WithST returns the chunk of encoding enc and bytes values with the start
// timestamp column col; a nil column leaves it without one.
func WithST(enc Encoding, values, col []byte) RawChunk {
	if col == nil {
		return RawChunk{Enc: enc, Data: values}
	}
	b := make([]byte, 0, binary.MaxVarintLen32+len(values)+len(col))
	b = binary.AppendUvarint(b, uint64(len(values)))
	b = append(append(b, values...), col...)
	return RawChunk{Enc: enc | EncST, Data: b}
}

// splitST splits the bytes of a chunk with a start timestamp column.
func splitST(b []byte) (values, col []byte, err error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return nil, nil, fmt.Errorf("chunk with start timestamps: bad values length: %w", errShortChunk)
	}
	return b[k : k+int(n)], b[k+int(n):], nil
}

// stIterator reads a chunk with a start timestamp column: the values'
// iterator, and the column decoded as it moves.
type stIterator struct {
	storage.Iterator
	d   stReader
	vt  storage.ValueType
	st  int64
	err error
}

func newSTIterator(enc Encoding, b []byte, it storage.Iterator) storage.Iterator {
	si, ok := it.(*stIterator)
	if !ok {
		si = &stIterator{}
	}
	values, col, err := splitST(b)
	if err == nil {
		err = si.d.reset(col)
	}
	si.Iterator = NewIterator(enc.Base(), values, si.Iterator)
	si.vt, si.st, si.err = storage.ValNone, 0, err
	return si
}

// Next implements storage.Iterator.
func (it *stIterator) Next() storage.ValueType {
	if it.err != nil {
		return storage.ValNone
	}
	it.vt = it.Iterator.Next()
	if it.vt == storage.ValNone {
		return it.vt
	}
	st, err := it.d.next(it.Iterator.AtT())
	if err != nil {
		it.err = fmt.Errorf("decode start timestamp of sample %d: %w", it.d.n, err)
		it.vt = storage.ValNone
		return it.vt
	}
	it.st = st
	return it.vt
}

// SeekTo implements storage.Iterator, sample by sample: the column has to
// see every one.
func (it *stIterator) SeekTo(t int64) storage.ValueType {
	if it.vt != storage.ValNone && it.Iterator.AtT() >= t {
		return it.vt
	}
	for {
		if vt := it.Next(); vt == storage.ValNone || it.Iterator.AtT() >= t {
			return vt
		}
	}
}

// AtST implements storage.StartTimestampIterator.
func (it *stIterator) AtST() int64 { return it.st }

// Err implements storage.Iterator.
func (it *stIterator) Err() error {
	if it.err != nil {
		return it.err
	}
	return it.Iterator.Err()
}

// STChunk is an open chunk whose samples carry start timestamps: the
// values' chunk, appended to as any, and the column beside it. The head
// wraps its open chunk in one at the first start timestamp it gets.
type STChunk struct {
	OpenChunk // *FloatChunk or *HistogramChunk
	col       stColumn
}

// NewSTChunk wraps c, whose newest sample's start timestamp the caller
// appends next: the ones before are unknown, the last of them at lastT.
func NewSTChunk(c OpenChunk, lastT int64) *STChunk {
	return &STChunk{OpenChunk: c, col: newSTColumn(max(c.NumSamples()-1, 0), lastT)}
}

// ValuesOf is the chunk that holds c's values: c itself unless it is an
// STChunk.
func ValuesOf(c OpenChunk) OpenChunk {
	if sc, ok := c.(*STChunk); ok {
		return sc.OpenChunk
	}
	return c
}

// AppendST codes the start timestamp of the newest sample, at t.
func (c *STChunk) AppendST(t, st int64) { c.col.Append(t, st) }

// Encoding implements Chunk.
func (c *STChunk) Encoding() Encoding { return c.OpenChunk.Encoding() | EncST }

// Bytes implements Chunk: a copy, values and column together.
func (c *STChunk) Bytes() []byte {
	return WithST(c.OpenChunk.Encoding(), c.OpenChunk.Bytes(), c.col.Bytes()).Data
}

// Iterator implements Chunk.
func (c *STChunk) Iterator(it storage.Iterator) storage.Iterator {
	return NewIterator(c.Encoding(), c.Bytes(), it)
}

// View implements OpenChunk with a copy: the column's bytes change in
// place as the values' do, and series with start timestamps are few.
func (c *STChunk) View() RawChunk { return RawChunk{Enc: c.Encoding(), Data: c.Bytes()} }

// Reopen makes a chunk (from a head checkpoint) appendable again.
func Reopen(c RawChunk) (OpenChunk, error) {
	values, col := c.Data, []byte(nil)
	if c.Enc.HasST() {
		var err error
		if values, col, err = splitST(c.Data); err != nil {
			return nil, err
		}
	}
	var oc OpenChunk
	var err error
	switch c.Enc.Base() {
	case EncFloat:
		oc, err = FloatChunkFromBytes(values)
	case EncHistogram, EncFloatHistogram:
		oc, err = HistogramChunkFromBytes(values)
	default:
		err = fmt.Errorf("no open chunks of encoding %s", c.Enc)
	}
	if err != nil || col == nil {
		return oc, err
	}
	// The column is coded again from its samples.
	sc := &STChunk{OpenChunk: oc, col: newSTColumn(0, 0)}
	it := NewIterator(c.Enc, c.Data, nil)
	for it.Next() != storage.ValNone {
		sc.AppendST(it.AtT(), it.(*stIterator).AtST())
	}
	return sc, it.Err()
}
