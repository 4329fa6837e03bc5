package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/graftlabs/graft/pkg/promql"
)

// queryExemplars serves /api/v1/query_exemplars: the exemplars, in
// [start, end], of the series every selector of the query matches.
func (a *API) queryExemplars(w http.ResponseWriter, r *http.Request) {
	start, end, err := parseRange(r)
	if err != nil {
		writeError(w, badData(err))
		return
	}
	expr, err := parser.NewParser(promql.AllFeatures).ParseExpr(r.FormValue("query"))
	if err != nil {
		writeError(w, badData(err))
		return
	}
	selectors := parser.ExtractSelectors(expr)
	if len(selectors) == 0 || a.Exemplars == nil {
		writeData(w, []exemplarResult{}, nil)
		return
	}
	eq, err := a.Exemplars.ExemplarQuerier(r.Context())
	if err != nil {
		writeError(w, &apiError{typ: errorExecution, err: err})
		return
	}
	res, err := eq.Select(start.UnixMilli(), end.UnixMilli(), selectors...)
	if err != nil {
		writeError(w, &apiError{typ: errorExecution, err: err})
		return
	}
	out := make([]exemplarResult, 0, len(res))
	for _, s := range res {
		out = append(out, exemplarResult{SeriesLabels: s.SeriesLabels, Exemplars: s.Exemplars})
	}
	writeData(w, out, nil)
}

// exemplarResult is one series and its exemplars, in Prometheus's JSON.
type exemplarResult struct {
	SeriesLabels labels.Labels
	Exemplars    []exemplar.Exemplar
}

func (e exemplarResult) MarshalJSON() ([]byte, error) {
	b := appendLabels([]byte(`{"seriesLabels":`), e.SeriesLabels)
	b = append(b, `,"exemplars":[`...)
	for i, ex := range e.Exemplars {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendLabels(append(b, `{"labels":`...), ex.Labels)
		b = appendQuotedFloat(append(b, `,"value":`...), ex.Value)
		b = appendTimestamp(append(b, `,"timestamp":`...), ex.Ts)
		b = append(b, '}')
	}
	return append(b, "]}"...), nil
}

// formatQuery serves /api/v1/format_query: the query pretty-printed.
func (a *API) formatQuery(w http.ResponseWriter, r *http.Request) {
	expr, err := parser.NewParser(promql.AllFeatures).ParseExpr(r.FormValue("query"))
	if err != nil {
		writeError(w, badData(errors.New(`invalid parameter "query": `+err.Error())))
		return
	}
	writeData(w, expr.Pretty(0), nil)
}

// parseLimit reads an optional non-negative integer parameter; -1 when
// absent.
func parseLimit(r *http.Request, name string) (int, error) {
	v := r.FormValue(name)
	if v == "" {
		return -1, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, errors.New(name + " must be a number")
	}
	return n, nil
}

var _ json.Marshaler = exemplarResult{}
