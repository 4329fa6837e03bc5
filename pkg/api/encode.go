package api

import (
	"encoding/json"
	"math"
	"strconv"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/promql"
)

// queryData is the data of a query response, encoded in Prometheus's shape:
// {"resultType": ..., "result": ...} with samples as [seconds, "value"].
type queryData struct {
	value promql.Value
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
	return append(b, '}'), nil
}

func appendVector(b []byte, v promql.Vector) []byte {
	b = append(b, '[')
	for i, s := range v {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendLabels(append(b, `{"metric":`...), s.Metric)
		b = appendPoint(append(b, `,"value":`...), s.T, s.F)
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
		b = append(b, `,"values":[`...)
		for j, p := range s.Floats {
			if j > 0 {
				b = append(b, ',')
			}
			b = appendPoint(b, p.T, p.F)
		}
		b = append(b, "]}"...)
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
