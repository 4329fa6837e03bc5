package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// apiAnswer is one server's answer to one request, normalised for
// comparison: the error type, or the result's type and its series.
type apiAnswer struct {
	errorType  string
	errorMsg   string
	resultType string
	series     map[string][]apiPoint // by label set
	order      []string              // label sets in the order returned
	strings    []string              // /series, /labels, /label/.../values
}

type apiPoint struct {
	t int64 // ms
	v float64
}

// empty says the answer carries no data (an error counts as empty).
func (a *apiAnswer) empty() bool {
	return a.errorType != "" || (len(a.series) == 0 && len(a.strings) == 0)
}

var compatClient = &http.Client{Timeout: 20 * time.Second}

// apiGet calls a Prometheus API path with params and decodes the envelope.
func apiGet(addr, path string, params url.Values) (*apiAnswer, error) {
	resp, err := compatClient.Get("http://" + addr + path + "?" + params.Encode())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var env struct {
		Status    string          `json:"status"`
		ErrorType string          `json:"errorType"`
		Error     string          `json:"error"`
		Data      json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("%s: status %d, body %.200q: %w", path, resp.StatusCode, body, err)
	}
	if env.Status != "success" {
		return &apiAnswer{errorType: env.ErrorType, errorMsg: env.Error}, nil
	}
	if path == "/api/v1/query" || path == "/api/v1/query_range" {
		return decodeQueryData(env.Data)
	}
	return decodeListData(env.Data)
}

func decodeQueryData(data json.RawMessage) (*apiAnswer, error) {
	var d struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("query data: %w", err)
	}
	a := &apiAnswer{resultType: d.ResultType, series: map[string][]apiPoint{}}
	switch d.ResultType {
	case "scalar", "string":
		var p [2]json.RawMessage
		if err := json.Unmarshal(d.Result, &p); err != nil {
			return nil, fmt.Errorf("%s result: %w", d.ResultType, err)
		}
		pt, err := decodePoint(p, d.ResultType == "string")
		a.series[""], a.order = []apiPoint{pt}, []string{""}
		return a, err
	}
	var rs []struct {
		Metric map[string]string    `json:"metric"`
		Value  *[2]json.RawMessage  `json:"value"`
		Values [][2]json.RawMessage `json:"values"`
	}
	if err := json.Unmarshal(d.Result, &rs); err != nil {
		return nil, fmt.Errorf("%s result: %w", d.ResultType, err)
	}
	for _, r := range rs {
		key := labels.FromMap(r.Metric).String()
		if r.Value != nil {
			r.Values = append(r.Values, *r.Value)
		}
		if _, dup := a.series[key]; dup {
			return nil, fmt.Errorf("series %s returned twice", key)
		}
		pts := make([]apiPoint, 0, len(r.Values))
		for _, v := range r.Values {
			pt, err := decodePoint(v, false)
			if err != nil {
				return nil, err
			}
			pts = append(pts, pt)
		}
		a.series[key], a.order = pts, append(a.order, key)
	}
	return a, nil
}

// decodePoint reads [seconds, "value"]; a string result's value is kept as
// its length, compared exactly (strings are rare: literals only).
func decodePoint(p [2]json.RawMessage, isString bool) (apiPoint, error) {
	sec, err := strconv.ParseFloat(string(p[0]), 64)
	if err != nil {
		return apiPoint{}, fmt.Errorf("timestamp %q: %w", p[0], err)
	}
	pt := apiPoint{t: int64(math.Round(sec * 1000))}
	var s string
	if err := json.Unmarshal(p[1], &s); err != nil {
		return apiPoint{}, fmt.Errorf("value %s: %w", p[1], err)
	}
	if isString {
		pt.v = float64(len(s))
		return pt, nil
	}
	if pt.v, err = strconv.ParseFloat(s, 64); err != nil {
		return apiPoint{}, fmt.Errorf("value %q: %w", p[1], err)
	}
	return pt, nil
}

// decodeListData reads the lists of /labels, /label/x/values and /series
// (each series as its label set), sorted.
func decodeListData(data json.RawMessage) (*apiAnswer, error) {
	var names []string
	if err := json.Unmarshal(data, &names); err == nil {
		a := &apiAnswer{strings: names}
		sort.Strings(a.strings)
		return a, nil
	}
	var sets []map[string]string
	if err := json.Unmarshal(data, &sets); err != nil {
		return nil, fmt.Errorf("list data: %w", err)
	}
	a := &apiAnswer{}
	for _, s := range sets {
		a.strings = append(a.strings, labels.FromMap(s).String())
	}
	sort.Strings(a.strings)
	return a, nil
}

// compareOpts say how strictly answers must agree.
type compareOpts struct {
	// ordered compares the order of the values too (sort, sort_desc: ties
	// may come in either order, so labels are not).
	ordered bool
	// exact wants bitwise-equal values (raw samples), not a tolerance.
	exact bool
	// labelOrder compares the order of the series: a range query's are
	// sorted by labels (an instant query's order is undefined).
	labelOrder bool
}

// diffAnswers describes how Graft's answer differs from Prometheus's, or
// returns "" when they agree.
func diffAnswers(prom, graft *apiAnswer, opts compareOpts) string {
	switch {
	case prom.errorType != "" || graft.errorType != "":
		if prom.errorType != graft.errorType {
			return fmt.Sprintf("error type: Prometheus %q (%s), Graft %q (%s)", prom.errorType, prom.errorMsg, graft.errorType, graft.errorMsg)
		}
		return ""
	case prom.resultType != graft.resultType:
		return fmt.Sprintf("result type: Prometheus %s, Graft %s", prom.resultType, graft.resultType)
	case !slices.Equal(prom.strings, graft.strings):
		return diffStrings(prom.strings, graft.strings)
	}
	if d := diffSeriesSets(prom, graft, opts.exact); d != "" {
		return d
	}
	if opts.ordered {
		return diffOrder(prom, graft)
	}
	if opts.labelOrder && !slices.Equal(prom.order, graft.order) {
		return fmt.Sprintf("series order: Prometheus %v, Graft %v", firstN(prom.order, 3), firstN(graft.order, 3))
	}
	return ""
}

func diffStrings(prom, graft []string) string {
	var missing, extra []string
	for _, s := range prom {
		if !slices.Contains(graft, s) {
			missing = append(missing, s)
		}
	}
	for _, s := range graft {
		if !slices.Contains(prom, s) {
			extra = append(extra, s)
		}
	}
	return fmt.Sprintf("lists differ: Graft lacks %q, has extra %q", firstN(missing, 5), firstN(extra, 5))
}

func firstN(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], fmt.Sprintf("... (%d more)", len(s)-n))
	}
	return s
}

func diffSeriesSets(prom, graft *apiAnswer, exact bool) string {
	var missing, extra []string
	for k := range prom.series {
		if _, ok := graft.series[k]; !ok {
			missing = append(missing, k)
		}
	}
	for k := range graft.series {
		if _, ok := prom.series[k]; !ok {
			extra = append(extra, k)
		}
	}
	if len(missing) > 0 || len(extra) > 0 {
		sort.Strings(missing)
		sort.Strings(extra)
		return fmt.Sprintf("series differ: Graft lacks %v, has extra %v", firstN(missing, 3), firstN(extra, 3))
	}
	keys := make([]string, 0, len(prom.series))
	for k := range prom.series {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if d := diffPoints(prom.series[k], graft.series[k], exact); d != "" {
			return k + ": " + d
		}
	}
	return ""
}

func diffPoints(prom, graft []apiPoint, exact bool) string {
	for i := range min(len(prom), len(graft)) {
		p, g := prom[i], graft[i]
		if p.t != g.t {
			return fmt.Sprintf("point %d at %d in Prometheus, %d in Graft (of %d and %d points)", i, p.t, g.t, len(prom), len(graft))
		}
		if !sameValue(p.v, g.v) || (exact && !sameBits(p.v, g.v)) {
			return fmt.Sprintf("at %d: Prometheus %v, Graft %v", p.t, p.v, g.v)
		}
	}
	if len(prom) != len(graft) {
		return fmt.Sprintf("%d points in Prometheus, %d in Graft", len(prom), len(graft))
	}
	return ""
}

// sameValue compares floats within a relative tolerance: Prometheus 3
// (Graft's reference) sums with Kahan compensation where Prometheus 2 did
// not, so the last bits may differ. NaN equals NaN.
func sameValue(a, b float64) bool {
	switch {
	case math.IsNaN(a) || math.IsNaN(b):
		return math.IsNaN(a) && math.IsNaN(b)
	case math.IsInf(a, 0) || math.IsInf(b, 0):
		return a == b
	}
	return math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b))
}

func sameBits(a, b float64) bool {
	return a == b || (math.IsNaN(a) && math.IsNaN(b))
}

// diffOrder compares the sequence of values in the order returned.
func diffOrder(prom, graft *apiAnswer) string {
	for i := range prom.order {
		pv, gv := lastValue(prom.series[prom.order[i]]), lastValue(graft.series[graft.order[i]])
		if !sameValue(pv, gv) {
			return fmt.Sprintf("order: value %d is %v in Prometheus (%s), %v in Graft (%s)",
				i, pv, prom.order[i], gv, graft.order[i])
		}
	}
	return ""
}

func lastValue(pts []apiPoint) float64 {
	if len(pts) == 0 {
		return math.NaN()
	}
	return pts[len(pts)-1].v
}

// isSortQuery says a query's result order is defined.
func isSortQuery(q string) bool {
	return strings.HasPrefix(q, "sort(") || strings.HasPrefix(q, "sort_desc(")
}
