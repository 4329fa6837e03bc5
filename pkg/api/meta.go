package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sort"
	"strconv"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/storage"
)

// metaRequest is the common part of the labels, label values and series
// endpoints: a time range, optional match[] selectors and a limit.
type metaRequest struct {
	querier  storage.Querier
	matchers [][]*labels.Matcher
	limit    int
}

func (a *API) openMeta(r *http.Request) (*metaRequest, *apiError) {
	if err := r.ParseForm(); err != nil {
		return nil, badData(err)
	}
	start, end, err := parseRange(r)
	if err != nil {
		return nil, badData(err)
	}
	ms, err := parseMatchers(r.Form["match[]"])
	if err != nil {
		return nil, badData(err)
	}
	limit := 0
	if v := r.FormValue("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 0 {
			return nil, badData(errors.New("limit must be a non-negative number"))
		}
	}
	q, err := a.Storage.Querier(start.UnixMilli(), end.UnixMilli())
	if err != nil {
		return nil, &apiError{typ: errorExecution, err: err}
	}
	return &metaRequest{querier: q, matchers: ms, limit: limit}, nil
}

// union runs fn once without matchers, or once per match[] set, and merges
// the sorted, deduplicated results.
func (m *metaRequest) union(fn func(ms ...*labels.Matcher) ([]string, error)) ([]string, error) {
	if len(m.matchers) == 0 {
		return fn()
	}
	var all []string
	for _, ms := range m.matchers {
		vals, err := fn(ms...)
		if err != nil {
			return nil, err
		}
		all = append(all, vals...)
	}
	slices.Sort(all)
	return slices.Compact(all), nil
}

func (m *metaRequest) truncate(vals []string) ([]string, []string) {
	if m.limit > 0 && len(vals) > m.limit {
		return vals[:m.limit], []string{"results truncated due to limit"}
	}
	return vals, nil
}

func (a *API) labelNames(w http.ResponseWriter, r *http.Request) {
	a.serveStrings(w, r, func(q storage.Querier, ms ...*labels.Matcher) ([]string, error) {
		return q.LabelNames(r.Context(), ms...)
	})
}

func (a *API) labelValues(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !model.UTF8Validation.IsValidLabelName(name) {
		writeError(w, badData(errors.New("invalid label name: "+strconv.Quote(name))))
		return
	}
	a.serveStrings(w, r, func(q storage.Querier, ms ...*labels.Matcher) ([]string, error) {
		return q.LabelValues(r.Context(), name, ms...)
	})
}

// serveStrings answers the label endpoints: fetch runs once per match[] set
// and the union, sorted and limited, is the response.
func (a *API) serveStrings(w http.ResponseWriter, r *http.Request, fetch func(q storage.Querier, ms ...*labels.Matcher) ([]string, error)) {
	m, aerr := a.openMeta(r)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	defer m.querier.Close()
	vals, err := m.union(func(ms ...*labels.Matcher) ([]string, error) { return fetch(m.querier, ms...) })
	if err != nil {
		writeError(w, &apiError{typ: errorExecution, err: err})
		return
	}
	if vals == nil {
		vals = []string{}
	}
	vals, warn := m.truncate(vals)
	writeData(w, vals, warn)
}

func (a *API) series(w http.ResponseWriter, r *http.Request) {
	m, aerr := a.openMeta(r)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	defer m.querier.Close()
	if len(m.matchers) == 0 {
		writeError(w, badData(errors.New("no match[] parameter provided")))
		return
	}
	sets, err := selectUnion(r.Context(), m.querier, m.matchers)
	if err != nil {
		writeError(w, &apiError{typ: errorExecution, err: err})
		return
	}
	var warn []string
	if m.limit > 0 && len(sets) > m.limit {
		sets, warn = sets[:m.limit], []string{"results truncated due to limit"}
	}
	out := make([]map[string]string, 0, len(sets))
	for _, l := range sets {
		out = append(out, l.Map())
	}
	writeData(w, out, warn)
}

// selectUnion returns the sorted, distinct label sets selected by any of the
// matcher sets.
func selectUnion(ctx context.Context, q storage.Querier, matchers [][]*labels.Matcher) ([]labels.Labels, error) {
	seen := map[string]labels.Labels{}
	for _, ms := range matchers {
		ss := q.Select(ctx, &storage.SelectHints{Func: "series"}, ms...)
		for ss.Next() {
			l := ss.At().Labels()
			seen[l.String()] = l
		}
		if err := ss.Err(); err != nil {
			return nil, err
		}
	}
	out := make([]labels.Labels, 0, len(seen))
	for _, l := range seen {
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return labels.Compare(out[i], out[j]) < 0 })
	return out, nil
}
