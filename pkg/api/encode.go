package api

import (
	"encoding/json"
	"math"
	"strconv"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/promql"
)

// queryData is the data of a query response, encoded in Prometheus's shape:
// {"resultType": ..., "result": ..., "stats": ...} with samples as
// [seconds, "value"] and native histograms as [seconds, {count, sum,
// buckets}].
type queryData struct {
	value promql.Value
	stats *queryStats // only when asked for
}

func (q queryData) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 1024)
	b = append(b, `{"resultType":`...)
	b = strconv.AppendQuote(b, string(q.value.Type()))
	b = append(b, `,"result":`...)
	switch v := q.value.(type) {
	case promql.Vector:
		b = appendVector(b, v)
	case promql.Matrix:
		b = appendMatrix(b, v)
	case promql.Scalar:
		b = appendPoint(b, v.T, v.V)
	case promql.String:
		b = appendTimestamp(append(b, '['), v.T)
		// JSON quoting, not Go's: strconv.Quote writes escapes such as \a,
		// \v and \x00 that are not JSON.
		str, err := json.Marshal(v.V)
		if err != nil {
			return nil, err
		}
		b = append(append(b, ','), str...)
		b = append(b, ']')
	default:
		b = append(b, "null"...)
	}
	if q.stats != nil {
		enc, err := json.Marshal(q.stats)
		if err != nil {
			return nil, err
		}
		b = append(append(b, `,"stats":`...), enc...)
	}
	return append(b, '}'), nil
}

func appendVector(b []byte, v promql.Vector) []byte {
	b = append(b, '[')
	for i, s := range v {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendLabels(append(b, `{"metric":`...), s.Metric)
		if s.H != nil {
			b = appendHistogramPoint(append(b, `,"histogram":`...), s.T, s.H)
		} else {
			b = appendPoint(append(b, `,"value":`...), s.T, s.F)
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

func appendMatrix(b []byte, m promql.Matrix) []byte {
	b = append(b, '[')
	for i, s := range m {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendLabels(append(b, `{"metric":`...), s.Metric)
		if len(s.Floats) > 0 || len(s.Histograms) == 0 {
			b = append(b, `,"values":[`...)
			for j, p := range s.Floats {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendPoint(b, p.T, p.F)
			}
			b = append(b, ']')
		}
		if len(s.Histograms) > 0 {
			b = append(b, `,"histograms":[`...)
			for j, p := range s.Histograms {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendHistogramPoint(b, p.T, p.H)
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

func appendLabels(b []byte, l labels.Labels) []byte {
	enc, _ := json.Marshal(l.Map())
	return append(b, enc...)
}

// appendPoint writes [seconds, "value"].
func appendPoint(b []byte, t int64, v float64) []byte {
	b = appendTimestamp(append(b, '['), t)
	b = append(b, ',', '"')
	b = appendFloat(b, v)
	return append(b, '"', ']')
}

// appendHistogramPoint writes [seconds, {"count", "sum", "buckets"}] as
// Prometheus does: buckets as [boundary rule, lower, upper, count], the rule
// 0 (upper inclusive), 1 (lower inclusive), 2 (neither), 3 (both); empty
// buckets left out.
func appendHistogramPoint(b []byte, t int64, h *histogram.FloatHistogram) []byte {
	b = appendTimestamp(append(b, '['), t)
	b = appendQuotedFloat(append(b, `,{"count":`...), h.Count)
	b = appendQuotedFloat(append(b, `,"sum":`...), h.Sum)
	first := true
	it := h.AllBucketIterator()
	for it.Next() {
		bk := it.At()
		if bk.Count == 0 {
			continue
		}
		if first {
			b = append(b, `,"buckets":[`...)
			first = false
		} else {
			b = append(b, ',')
		}
		rule := 2
		switch {
		case bk.LowerInclusive && bk.UpperInclusive:
			rule = 3
		case bk.LowerInclusive:
			rule = 1
		case bk.UpperInclusive:
			rule = 0
		}
		b = strconv.AppendInt(append(b, '['), int64(rule), 10)
		b = appendQuotedFloat(append(b, ','), bk.Lower)
		b = appendQuotedFloat(append(b, ','), bk.Upper)
		b = appendQuotedFloat(append(b, ','), bk.Count)
		b = append(b, ']')
	}
	if !first {
		b = append(b, ']')
	}
	return append(b, "}]"...)
}

func appendQuotedFloat(b []byte, v float64) []byte {
	return append(appendFloat(append(b, '"'), v), '"')
}

// appendTimestamp writes milliseconds as seconds with up to three decimals.
func appendTimestamp(b []byte, ms int64) []byte {
	if ms < 0 {
		b = append(b, '-')
		ms = -ms
	}
	b = strconv.AppendInt(b, ms/1000, 10)
	if frac := ms % 1000; frac != 0 {
		b = append(b, '.')
		s := strconv.AppendInt(nil, frac+1000, 10)[1:] // zero-padded to 3 digits
		for len(s) > 0 && s[len(s)-1] == '0' {
			s = s[:len(s)-1]
		}
		b = append(b, s...)
	}
	return b
}

// appendFloat formats like Prometheus: shortest representation, NaN, +Inf, -Inf.
func appendFloat(b []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return append(b, "NaN"...)
	case math.IsInf(v, 1):
		return append(b, "+Inf"...)
	case math.IsInf(v, -1):
		return append(b, "-Inf"...)
	}
	return strconv.AppendFloat(b, v, 'f', -1, 64)
}
