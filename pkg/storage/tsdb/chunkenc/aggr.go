package chunkenc

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/prometheus/prometheus/model/histogram"

	"github.com/graftlabs/graft/pkg/storage"
)

// An aggregate chunk holds downsampled data, as Thanos keeps it: per
// window of the resolution, the count, sum, min and max of the raw values
// (one point each, at the window's last raw timestamp), and a counter
// series of raw values: each window's last one, plus every value that a
// counter reset follows. Rate and increase over the counter series equal
// those over the raw samples at the windows' edges, resets included.
//
//	windows uint16 | 5 x (length uvarint | float chunk): count, sum, min, max, counter
//
// The float chunks share this package's float coding.

// Aggr names the aggregate an iterator over an aggregate chunk returns.
type Aggr uint8

// The aggregates.
const (
	AggrAvg Aggr = iota // sum / count
	AggrCount
	AggrSum
	AggrMin
	AggrMax
	AggrCounter
	numAggrParts = 5
)

// AggrParts are the series an aggregate chunk is made of.
type AggrParts struct {
	// T are the windows' timestamps; Count, Sum, Min, Max their values.
	T                    []int64
	Count, Sum, Min, Max []float64
	CounterT             []int64
	CounterV             []float64
}

// EncodeAggr codes aggregate parts as a chunk.
func EncodeAggr(p AggrParts) ([]byte, error) {
	n := len(p.T)
	if n == 0 || n > math.MaxUint16 || len(p.Count) != n || len(p.Sum) != n || len(p.Min) != n || len(p.Max) != n {
		return nil, fmt.Errorf("aggregate chunk of %d windows with %d/%d/%d/%d values", n, len(p.Count), len(p.Sum), len(p.Min), len(p.Max))
	}
	b := binary.BigEndian.AppendUint16(nil, uint16(n))
	for i, vs := range [][]float64{p.Count, p.Sum, p.Min, p.Max, p.CounterV} {
		ts := p.T
		if i == 4 {
			ts = p.CounterT
		}
		var part []byte
		if len(ts) > 0 {
			var err error
			if part, err = EncodeFloats(ts, vs); err != nil {
				return nil, fmt.Errorf("aggregate part %d: %w", i, err)
			}
		}
		b = binary.AppendUvarint(b, uint64(len(part)))
		b = append(b, part...)
	}
	return b, nil
}

// aggrPart returns the float chunk of part i of an aggregate chunk.
func aggrPart(b []byte, i int) ([]byte, error) {
	if len(b) < 2 {
		return nil, errShortChunk
	}
	b = b[2:]
	for j := 0; ; j++ {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return nil, fmt.Errorf("aggregate part %d: %w", j, errShortChunk)
		}
		if j == i {
			return b[k : k+int(n)], nil
		}
		b = b[k+int(n):]
	}
}

// DecodeAggr reads every part of an aggregate chunk.
func DecodeAggr(b []byte) (AggrParts, error) {
	var p AggrParts
	dst := []*[]float64{&p.Count, &p.Sum, &p.Min, &p.Max, &p.CounterV}
	for i := range numAggrParts {
		part, err := aggrPart(b, i)
		if err != nil {
			return p, err
		}
		it := NewFloatIterator(part, nil)
		for it.Next() == storage.ValFloat {
			t, v := it.At()
			*dst[i] = append(*dst[i], v)
			switch i {
			case 0:
				p.T = append(p.T, t)
			case 4:
				p.CounterT = append(p.CounterT, t)
			}
		}
		if err := it.Err(); err != nil {
			return p, fmt.Errorf("aggregate part %d: %w", i, err)
		}
	}
	if len(p.Sum) != len(p.T) || len(p.Min) != len(p.T) || len(p.Max) != len(p.T) {
		return p, fmt.Errorf("aggregate parts of unequal length: %w", errShortChunk)
	}
	return p, nil
}

// AggrIterator returns one aggregate of an aggregate chunk.
type AggrIterator struct {
	aggr  Aggr
	main  FloatIterator // the aggregate read (sum for the average)
	count FloatIterator // the count, for the average
	v     float64
	err   error
}

// NewAggrIterator iterates over aggregate a of chunk b, reusing it if
// possible.
func NewAggrIterator(b []byte, a Aggr, it storage.Iterator) storage.Iterator {
	ai, ok := it.(*AggrIterator)
	if !ok {
		ai = &AggrIterator{}
	}
	*ai = AggrIterator{aggr: a}
	part := map[Aggr]int{AggrAvg: 1, AggrCount: 0, AggrSum: 1, AggrMin: 2, AggrMax: 3, AggrCounter: 4}[a]
	main, err := aggrPart(b, part)
	if err != nil {
		ai.err = err
		return ai
	}
	ai.main.reset(main)
	if a == AggrAvg {
		cnt, err := aggrPart(b, 0)
		if err != nil {
			ai.err = err
			return ai
		}
		ai.count.reset(cnt)
	}
	return ai
}

func (it *AggrIterator) settle(vt storage.ValueType) storage.ValueType {
	if vt == storage.ValNone {
		if it.err == nil {
			it.err = it.main.Err()
		}
		return vt
	}
	_, it.v = it.main.At()
	if it.aggr == AggrAvg {
		if it.count.SeekTo(it.main.AtT()) != storage.ValFloat || it.count.AtT() != it.main.AtT() {
			it.err = fmt.Errorf("aggregate chunk: count and sum disagree at %d", it.main.AtT())
			return storage.ValNone
		}
		_, c := it.count.At()
		it.v /= c
	}
	return vt
}

// Next implements storage.Iterator.
func (it *AggrIterator) Next() storage.ValueType {
	if it.err != nil {
		return storage.ValNone
	}
	return it.settle(it.main.Next())
}

// SeekTo implements storage.Iterator.
func (it *AggrIterator) SeekTo(t int64) storage.ValueType {
	if it.err != nil {
		return storage.ValNone
	}
	return it.settle(it.main.SeekTo(t))
}

// At implements storage.Iterator.
func (it *AggrIterator) At() (int64, float64) { return it.main.AtT(), it.v }

// AtT implements storage.Iterator.
func (it *AggrIterator) AtT() int64 { return it.main.AtT() }

// AtHistogram implements storage.Iterator; aggregates are floats.
func (it *AggrIterator) AtHistogram(h *histogram.Histogram) (int64, *histogram.Histogram) {
	return it.main.AtT(), h
}

// AtFloatHistogram implements storage.Iterator; aggregates are floats.
func (it *AggrIterator) AtFloatHistogram(fh *histogram.FloatHistogram) (int64, *histogram.FloatHistogram) {
	return it.main.AtT(), fh
}

// Err implements storage.Iterator.
func (it *AggrIterator) Err() error {
	if it.err != nil {
		return it.err
	}
	return it.main.Err()
}
