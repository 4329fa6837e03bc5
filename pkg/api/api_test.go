package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/graftlabs/graft/pkg/api"
	"github.com/graftlabs/graft/pkg/promql"
	"github.com/graftlabs/graft/pkg/scrape"
	"github.com/graftlabs/graft/pkg/storage/memstore"
	"github.com/graftlabs/graft/pkg/version"
)

// fakeTargets is a fixed TargetSource.
type fakeTargets struct {
	active  []scrape.TargetStatus
	dropped []scrape.DroppedTarget
}

func (f *fakeTargets) Targets() []scrape.TargetStatus         { return f.active }
func (f *fakeTargets) DroppedTargets() []scrape.DroppedTarget { return f.dropped }

// fixture: a store with
//
//	m{a="1"}       1 @10s, 2 @20s, 3 @30s
//	m{a="2"}      10 @10s
//	other{job="j"} 5 @1000s
//	gone{a="3"}    stale marker @20s after 7 @10s
type server struct {
	t   *testing.T
	url string
	tgt *fakeTargets
}

func newServer(t *testing.T) *server {
	t.Helper()
	st := memstore.New()
	app := st.Appender(context.Background())
	add := func(l labels.Labels, ts int64, v float64) {
		if _, err := app.Append(0, l, ts, v); err != nil {
			t.Fatal(err)
		}
	}
	m1 := labels.FromStrings("__name__", "m", "a", "1")
	m2 := labels.FromStrings("__name__", "m", "a", "2")
	add(m1, 10_000, 1)
	add(m1, 20_000, 2)
	add(m1, 30_000, 3)
	add(m2, 10_000, 10)
	add(labels.FromStrings("__name__", "other", "job", "j"), 1_000_000, 5)
	gone := labels.FromStrings("__name__", "gone", "a", "3")
	add(gone, 10_000, 7)
	add(gone, 20_000, math.Float64frombits(value.StaleNaN))
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	tgt := &fakeTargets{}
	a := &api.API{
		Storage: st,
		Engine:  promql.NewEngine(promql.EngineOpts{}),
		Targets: tgt,
		Now:     func() time.Time { return time.Unix(30, 0) },
	}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	return &server{t: t, url: srv.URL, tgt: tgt}
}

type response struct {
	Code        int
	ContentType string
	Raw         string
	Status      string          `json:"status"`
	Data        json.RawMessage `json:"data"`
	ErrorType   string          `json:"errorType"`
	Error       string          `json:"error"`
	Warnings    []string        `json:"warnings"`
}

func (s *server) do(req *http.Request) *response {
	s.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	r := &response{Code: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), Raw: string(body)}
	if !json.Valid(body) {
		s.t.Fatalf("%s %s: invalid JSON body %q", req.Method, req.URL, body)
	}
	if err := json.Unmarshal(body, r); err != nil {
		s.t.Fatalf("%s %s: %v in %s", req.Method, req.URL, err, body)
	}
	if r.ContentType != "application/json" {
		s.t.Errorf("Content-Type = %q", r.ContentType)
	}
	return r
}

func (s *server) get(path string, params url.Values) *response {
	s.t.Helper()
	u := s.url + path
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	return s.do(req)
}

func (s *server) post(path string, params url.Values) *response {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.url+path, strings.NewReader(params.Encode()))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return s.do(req)
}

// both runs the request as GET and as POST form and checks they agree.
func (s *server) both(path string, params url.Values) *response {
	s.t.Helper()
	g := s.get(path, params)
	p := s.post(path, params)
	if g.Code != p.Code || g.Raw != p.Raw {
		s.t.Fatalf("%s: GET and POST differ:\nGET  %d %s\nPOST %d %s", path, g.Code, g.Raw, p.Code, p.Raw)
	}
	return g
}

// on returns the server bound to the (sub)test t, for its failures.
func (s *server) on(t *testing.T) *server {
	c := *s
	c.t = t
	return &c
}

func (r *response) success(t *testing.T) *response {
	t.Helper()
	if r.Code != http.StatusOK || r.Status != "success" {
		t.Fatalf("want success, got %d %s", r.Code, r.Raw)
	}
	if strings.Contains(r.Raw, `"errorType"`) || strings.Contains(r.Raw, `"error"`) {
		t.Fatalf("success response carries error fields: %s", r.Raw)
	}
	return r
}

func (r *response) failure(t *testing.T, code int, typ, msg string) {
	t.Helper()
	if r.Code != code || r.Status != "error" || r.ErrorType != typ || !strings.Contains(r.Error, msg) {
		t.Fatalf("want %d %s containing %q, got %d %s", code, typ, msg, r.Code, r.Raw)
	}
	if strings.Contains(r.Raw, `"data"`) {
		t.Fatalf("error response carries data: %s", r.Raw)
	}
}

func params(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

func TestQueryInstantVector(t *testing.T) {
	s := newServer(t)
	r := s.both("/api/v1/query", params("query", "m", "time", "30")).success(t)
	const want = `{"resultType":"vector","result":[` +
		`{"metric":{"__name__":"m","a":"1"},"value":[30,"3"]},` +
		`{"metric":{"__name__":"m","a":"2"},"value":[30,"10"]}]}`
	if string(r.Data) != want {
		t.Fatalf("data =\n  %s\nwant\n  %s", r.Data, want)
	}
	if strings.Contains(r.Raw, `"warnings"`) {
		t.Fatalf("empty warnings not omitted: %s", r.Raw)
	}
	// A stale series is not returned; an empty result is [], not null.
	r = s.get("/api/v1/query", params("query", "gone", "time", "25")).success(t)
	if string(r.Data) != `{"resultType":"vector","result":[]}` {
		t.Fatalf("data = %s", r.Data)
	}
}

func TestQueryDefaultTimeIsNow(t *testing.T) {
	s := newServer(t)
	r := s.get("/api/v1/query", params("query", "m{a=\"1\"}")).success(t)
	if !strings.Contains(string(r.Data), `"value":[30,"3"]`) {
		t.Fatalf("data = %s, want evaluation at the API clock (30s)", r.Data)
	}
}

func TestQueryValueEncoding(t *testing.T) {
	s := newServer(t)
	for _, tc := range []struct {
		query, time, want string
	}{
		{"1+1", "30", `{"resultType":"scalar","result":[30,"2"]}`},
		{"1.5", "30.5", `{"resultType":"scalar","result":[30.5,"1.5"]}`},
		{"2", "30.123", `{"resultType":"scalar","result":[30.123,"2"]}`},
		{"2", "30.05", `{"resultType":"scalar","result":[30.05,"2"]}`},
		{"2", "30.001", `{"resultType":"scalar","result":[30.001,"2"]}`},
		{"2", "0", `{"resultType":"scalar","result":[0,"2"]}`},
		{"2", "-1.5", `{"resultType":"scalar","result":[-1.5,"2"]}`},
		{"2", "1970-01-01T00:00:30.25Z", `{"resultType":"scalar","result":[30.25,"2"]}`},
		{"0/0", "30", `{"resultType":"scalar","result":[30,"NaN"]}`},
		{"1/0", "30", `{"resultType":"scalar","result":[30,"+Inf"]}`},
		{"-1/0", "30", `{"resultType":"scalar","result":[30,"-Inf"]}`},
		{"1e21", "30", `{"resultType":"scalar","result":[30,"1000000000000000000000"]}`},
		{"0.1+0.2", "30", `{"resultType":"scalar","result":[30,"0.30000000000000004"]}`},
		{"-0.000001", "30", `{"resultType":"scalar","result":[30,"-0.000001"]}`},
		{`"hello"`, "30", `{"resultType":"string","result":[30,"hello"]}`},
		{`"quote\" back\\ <&>"`, "30", `{"resultType":"string","result":[30,"quote\" back\\ \u003c\u0026\u003e"]}`},
		{`m{a="1"}[15s]`, "30", `{"resultType":"matrix","result":[{"metric":{"__name__":"m","a":"1"},"values":[[20,"2"],[30,"3"]]}]}`},
		{`m{a="1"} / 0`, "30", `{"resultType":"vector","result":[{"metric":{"a":"1"},"value":[30,"+Inf"]}]}`},
	} {
		t.Run(tc.query+"@"+tc.time, func(t *testing.T) {
			s := s.on(t)
			r := s.both("/api/v1/query", params("query", tc.query, "time", tc.time)).success(t)
			if string(r.Data) != tc.want {
				t.Fatalf("data =\n  %s\nwant\n  %s", r.Data, tc.want)
			}
		})
	}
}

// String results must be JSON strings, whatever characters they hold.
func TestQueryStringEscaping(t *testing.T) {
	s := newServer(t)
	for query, want := range map[string]string{
		`"a\tb"`:         "a\tb",
		`"bell\a"`:       "bell\a",
		`"vt\v"`:         "vt\v",
		`"nul\x00"`:      "nul\x00",
		`"é ünïcode ✓"`:  "é ünïcode ✓",
		`"line\nbreak"`:  "line\nbreak",
		`"esc\u001b[0m"`: "esc\u001b[0m",
	} {
		t.Run(query, func(t *testing.T) {
			s := s.on(t)
			r := s.get("/api/v1/query", params("query", query, "time", "1")).success(t)
			var data struct {
				ResultType string             `json:"resultType"`
				Result     [2]json.RawMessage `json:"result"`
			}
			if err := json.Unmarshal(r.Data, &data); err != nil {
				t.Fatal(err)
			}
			var got string
			if err := json.Unmarshal(data.Result[1], &got); err != nil {
				t.Fatalf("%s: %v", data.Result[1], err)
			}
			if data.ResultType != "string" || got != want {
				t.Fatalf("got %q (%s), want %q", got, data.ResultType, want)
			}
		})
	}
}

func TestQueryRange(t *testing.T) {
	s := newServer(t)
	r := s.both("/api/v1/query_range", params("query", "m", "start", "10", "end", "30", "step", "10")).success(t)
	const want = `{"resultType":"matrix","result":[` +
		`{"metric":{"__name__":"m","a":"1"},"values":[[10,"1"],[20,"2"],[30,"3"]]},` +
		`{"metric":{"__name__":"m","a":"2"},"values":[[10,"10"],[20,"10"],[30,"10"]]}]}`
	if string(r.Data) != want {
		t.Fatalf("data =\n  %s\nwant\n  %s", r.Data, want)
	}

	// Step as a duration, times as RFC 3339 and fractions.
	r = s.get("/api/v1/query_range", params("query", `m{a="1"} * 2`, "start", "1970-01-01T00:00:19.5Z", "end", "20.5", "step", "500ms")).success(t)
	const want2 = `{"resultType":"matrix","result":[{"metric":{"a":"1"},"values":[[19.5,"2"],[20,"4"],[20.5,"4"]]}]}`
	if string(r.Data) != want2 {
		t.Fatalf("data =\n  %s\nwant\n  %s", r.Data, want2)
	}

	// A stale marker ends the series inside the range.
	r = s.get("/api/v1/query_range", params("query", "gone", "start", "10", "end", "30", "step", "5")).success(t)
	const want3 = `{"resultType":"matrix","result":[{"metric":{"__name__":"gone","a":"3"},"values":[[10,"7"],[15,"7"]]}]}`
	if string(r.Data) != want3 {
		t.Fatalf("data =\n  %s\nwant\n  %s", r.Data, want3)
	}
	// Nothing matched: an empty matrix.
	r = s.get("/api/v1/query_range", params("query", "nothing", "start", "10", "end", "30", "step", "5")).success(t)
	if string(r.Data) != `{"resultType":"matrix","result":[]}` {
		t.Fatalf("data = %s", r.Data)
	}
	// A scalar expression makes a matrix with one unlabelled series.
	r = s.get("/api/v1/query_range", params("query", "1", "start", "0", "end", "1", "step", "1")).success(t)
	if string(r.Data) != `{"resultType":"matrix","result":[{"metric":{},"values":[[0,"1"],[1,"1"]]}]}` {
		t.Fatalf("data = %s", r.Data)
	}
}

func TestQueryErrors(t *testing.T) {
	s := newServer(t)
	for _, tc := range []struct {
		name, path string
		params     url.Values
		code       int
		typ, msg   string
	}{
		{"parse error with position", "/api/v1/query", params("query", "sum(m", "time", "1"), 400, "bad_data", "1:6: parse error"},
		{"parse error in range query", "/api/v1/query_range", params("query", "m{", "start", "1", "end", "2", "step", "1"), 400, "bad_data", "parse error"},
		{"missing query", "/api/v1/query", params("time", "1"), 400, "bad_data", "parse error"},
		{"bad time", "/api/v1/query", params("query", "1", "time", "yesterday"), 400, "bad_data", `invalid parameter "time"`},
		{"bad timeout", "/api/v1/query", params("query", "1", "timeout", "soon"), 400, "bad_data", `invalid parameter "timeout"`},
		{"missing start", "/api/v1/query_range", params("query", "m", "end", "2", "step", "1"), 400, "bad_data", `"start"`},
		{"missing end", "/api/v1/query_range", params("query", "m", "start", "2", "step", "1"), 400, "bad_data", `"end"`},
		{"missing step", "/api/v1/query_range", params("query", "m", "start", "1", "end", "2"), 400, "bad_data", `"step"`},
		{"bad start", "/api/v1/query_range", params("query", "m", "start", "x", "end", "2", "step", "1"), 400, "bad_data", `invalid parameter "start"`},
		{"bad step", "/api/v1/query_range", params("query", "m", "start", "1", "end", "2", "step", "often"), 400, "bad_data", `invalid parameter "step"`},
		{"end before start", "/api/v1/query_range", params("query", "m", "start", "20", "end", "10", "step", "1"), 400, "bad_data", "end timestamp must not be before start time"},
		{"zero step", "/api/v1/query_range", params("query", "m", "start", "1", "end", "2", "step", "0"), 400, "bad_data", "zero or negative query resolution step"},
		{"negative step", "/api/v1/query_range", params("query", "m", "start", "1", "end", "2", "step", "-1"), 400, "bad_data", "zero or negative query resolution step"},
		{"too many points", "/api/v1/query_range", params("query", "m", "start", "0", "end", "100000", "step", "1"), 400, "bad_data", "11,000 points"},
		{"range vector in range query", "/api/v1/query_range", params("query", "m[1m]", "start", "1", "end", "2", "step", "1"), 400, "bad_data", "range query"},
		{"timeout", "/api/v1/query", params("query", "m", "time", "30", "timeout", "0.000000001"), 503, "timeout", "timed out"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := s.on(t)
			s.get(tc.path, tc.params).failure(t, tc.code, tc.typ, tc.msg)
			s.post(tc.path, tc.params).failure(t, tc.code, tc.typ, tc.msg)
		})
	}
}

func decodeStrings(t *testing.T, raw json.RawMessage) []string {
	t.Helper()
	if string(raw) == "null" {
		t.Fatal("data is null, want a list")
	}
	var out []string
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	return out
}

func TestLabelNames(t *testing.T) {
	s := newServer(t)
	for _, tc := range []struct {
		name   string
		params url.Values
		want   []string
	}{
		{"all", nil, []string{"__name__", "a", "job"}},
		{"match", params("match[]", "m"), []string{"__name__", "a"}},
		{"two matches union", params("match[]", `m{a="2"}`, "match[]", "other"), []string{"__name__", "a", "job"}},
		{"match nothing", params("match[]", "nothing"), []string{}},
		{"time range excludes later series", params("start", "0", "end", "100"), []string{"__name__", "a"}},
		{"time range only later series", params("start", "500", "end", "2000"), []string{"__name__", "job"}},
		{"RFC 3339 range", params("start", "1970-01-01T00:08:20Z", "end", "1970-01-01T00:33:20Z"), []string{"__name__", "job"}},
		{"empty range", params("start", "40", "end", "50"), []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := s.on(t)
			r := s.both("/api/v1/labels", tc.params).success(t)
			if got := decodeStrings(t, r.Data); !slices.Equal(got, tc.want) {
				t.Fatalf("labels = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestLabelValues(t *testing.T) {
	s := newServer(t)
	for _, tc := range []struct {
		name, label string
		params      url.Values
		want        []string
	}{
		{"names", "__name__", nil, []string{"gone", "m", "other"}},
		{"a", "a", nil, []string{"1", "2", "3"}},
		{"a with match", "a", params("match[]", "m"), []string{"1", "2"}},
		{"a with two matches", "a", params("match[]", `m{a="1"}`, "match[]", "gone"), []string{"1", "3"}},
		{"a in a time range", "a", params("start", "25", "end", "40"), []string{"1"}},
		{"unknown label", "nope", nil, []string{}},
		{"utf-8 label name", "é", nil, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := s.on(t)
			r := s.get("/api/v1/label/"+url.PathEscape(tc.label)+"/values", tc.params).success(t)
			if got := decodeStrings(t, r.Data); !slices.Equal(got, tc.want) {
				t.Fatalf("values = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSeries(t *testing.T) {
	s := newServer(t)
	decode := func(raw json.RawMessage) []map[string]string {
		t.Helper()
		var out []map[string]string
		if string(raw) == "null" {
			t.Fatal("data is null")
		}
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	r := s.both("/api/v1/series", params("match[]", "m")).success(t)
	if string(r.Data) != `[{"__name__":"m","a":"1"},{"__name__":"m","a":"2"}]` {
		t.Fatalf("series = %s", r.Data)
	}
	// Overlapping match[] sets are merged without duplicates, sorted.
	r = s.both("/api/v1/series", params("match[]", `{a=~"1|3"}`, "match[]", `m`, "match[]", `{__name__="m",a="1"}`)).success(t)
	got := decode(r.Data)
	want := []map[string]string{
		{"__name__": "gone", "a": "3"}, {"__name__": "m", "a": "1"}, {"__name__": "m", "a": "2"},
	}
	if len(got) != len(want) {
		t.Fatalf("series = %v, want %v", got, want)
	}
	for i := range want {
		if !mapsEqual(got[i], want[i]) {
			t.Fatalf("series = %v, want %v", got, want)
		}
	}
	// Time range.
	r = s.get("/api/v1/series", params("match[]", `{__name__=~".+"}`, "start", "500", "end", "2000")).success(t)
	if string(r.Data) != `[{"__name__":"other","job":"j"}]` {
		t.Fatalf("series in range = %s", r.Data)
	}
	r = s.get("/api/v1/series", params("match[]", "nothing")).success(t)
	if string(r.Data) != `[]` {
		t.Fatalf("no series = %s", r.Data)
	}
	// match[] is required.
	s.get("/api/v1/series", nil).failure(t, 400, "bad_data", "no match[] parameter provided")
	s.post("/api/v1/series", nil).failure(t, 400, "bad_data", "no match[] parameter provided")
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestMetaLimit(t *testing.T) {
	s := newServer(t)
	const truncated = "results truncated due to limit"
	r := s.both("/api/v1/labels", params("limit", "2")).success(t)
	if got := decodeStrings(t, r.Data); !slices.Equal(got, []string{"__name__", "a"}) || !slices.Equal(r.Warnings, []string{truncated}) {
		t.Fatalf("labels limit=2: %s", r.Raw)
	}
	// A limit not reached gives no warning; 0 means no limit.
	for _, l := range []string{"3", "0"} {
		r = s.get("/api/v1/labels", params("limit", l)).success(t)
		if got := decodeStrings(t, r.Data); len(got) != 3 || r.Warnings != nil {
			t.Fatalf("labels limit=%s: %s", l, r.Raw)
		}
	}
	r = s.get("/api/v1/label/a/values", params("limit", "1")).success(t)
	if got := decodeStrings(t, r.Data); !slices.Equal(got, []string{"1"}) || !slices.Equal(r.Warnings, []string{truncated}) {
		t.Fatalf("label values limit=1: %s", r.Raw)
	}
	r = s.both("/api/v1/series", params("match[]", `{a!=""}`, "limit", "2")).success(t)
	if string(r.Data) != `[{"__name__":"gone","a":"3"},{"__name__":"m","a":"1"}]` || !slices.Equal(r.Warnings, []string{truncated}) {
		t.Fatalf("series limit=2: %s", r.Raw)
	}
	for _, bad := range []string{"-1", "x", "1.5"} {
		s.get("/api/v1/labels", params("limit", bad)).failure(t, 400, "bad_data", "limit")
		s.get("/api/v1/series", params("match[]", "m", "limit", bad)).failure(t, 400, "bad_data", "limit")
	}
}

func TestMetaErrors(t *testing.T) {
	s := newServer(t)
	for _, path := range []string{"/api/v1/labels", "/api/v1/label/a/values", "/api/v1/series"} {
		t.Run(path, func(t *testing.T) {
			s := s.on(t)
			s.get(path, params("match[]", "m{")).failure(t, 400, "bad_data", "parse error")
			s.get(path, params("match[]", `{a=""}`)).failure(t, 400, "bad_data", "at least one non-empty matcher")
			s.get(path, params("match[]", "m", "start", "nope")).failure(t, 400, "bad_data", `invalid parameter "start"`)
			s.get(path, params("match[]", "m", "end", "nope")).failure(t, 400, "bad_data", `invalid parameter "end"`)
			s.get(path, params("match[]", "m", "start", "20", "end", "10")).failure(t, 400, "bad_data", "end timestamp must not be before start time")
		})
	}
	s.get("/api/v1/label/%20x/values", nil).success(t) // any UTF-8 name is valid
	r := s.get("/api/v1/label/%ff/values", nil)
	r.failure(t, 400, "bad_data", "invalid label name")
}

func TestUnknownEndpoint(t *testing.T) {
	s := newServer(t)
	for _, path := range []string{"/api/v1/nope", "/api/v1/status/config", "/api/v1/label/a", "/api/v1/"} {
		s.get(path, nil).failure(t, 404, "not_found", "unknown API endpoint "+path)
	}
	s.post("/api/v1/nope", nil).failure(t, 404, "not_found", "unknown API endpoint")
}

func TestBuildInfo(t *testing.T) {
	s := newServer(t)
	r := s.get("/api/v1/status/buildinfo", nil).success(t)
	var info map[string]string
	if err := json.Unmarshal(r.Data, &info); err != nil {
		t.Fatal(err)
	}
	want := version.Get()
	for k, v := range map[string]string{
		"version": want.Version, "revision": want.Revision, "branch": want.Branch,
		"buildUser": want.BuildUser, "buildDate": want.BuildDate, "goVersion": want.GoVersion,
	} {
		if info[k] != v || v == "" {
			t.Errorf("buildinfo %s = %q, want %q", k, info[k], v)
		}
	}
}

func TestTargets(t *testing.T) {
	s := newServer(t)
	last := time.Date(2026, 1, 2, 3, 4, 5, 600_000_000, time.UTC)
	s.tgt.active = []scrape.TargetStatus{{
		Job:                "node",
		Labels:             labels.FromStrings("instance", "127.0.0.1:9100", "job", "node"),
		DiscoveredLabels:   labels.FromStrings("__address__", "127.0.0.1:9100", "__metrics_path__", "/metrics", "job", "node"),
		ScrapeURL:          "http://127.0.0.1:9100/metrics",
		Health:             scrape.HealthBad,
		LastError:          "server returned HTTP status 500 Internal Server Error",
		LastScrape:         last,
		LastScrapeDuration: 1500 * time.Millisecond,
		ScrapeInterval:     15 * time.Second,
		ScrapeTimeout:      10 * time.Second,
	}}
	s.tgt.dropped = []scrape.DroppedTarget{{
		DiscoveredLabels: map[string]string{"__address__": "127.0.0.1:9200", "job": "node"},
		Reason:           "dropped by relabeling",
	}}

	type target struct {
		DiscoveredLabels   map[string]string `json:"discoveredLabels"`
		Labels             map[string]string `json:"labels"`
		ScrapePool         string            `json:"scrapePool"`
		ScrapeURL          string            `json:"scrapeUrl"`
		LastError          string            `json:"lastError"`
		LastScrape         time.Time         `json:"lastScrape"`
		LastScrapeDuration float64           `json:"lastScrapeDuration"`
		Health             string            `json:"health"`
		ScrapeInterval     string            `json:"scrapeInterval"`
		ScrapeTimeout      string            `json:"scrapeTimeout"`
	}
	type data struct {
		Active  []target                       `json:"activeTargets"`
		Dropped []map[string]map[string]string `json:"droppedTargets"`
	}
	get := func(state string) (data, *response) {
		t.Helper()
		var p url.Values
		if state != "" {
			p = params("state", state)
		}
		r := s.get("/api/v1/targets", p).success(t)
		var d data
		if err := json.Unmarshal(r.Data, &d); err != nil {
			t.Fatal(err)
		}
		return d, r
	}

	d, r := get("")
	if len(d.Active) != 1 || len(d.Dropped) != 1 {
		t.Fatalf("targets = %s", r.Data)
	}
	a := d.Active[0]
	if a.ScrapePool != "node" || a.ScrapeURL != "http://127.0.0.1:9100/metrics" || a.Health != "down" ||
		a.LastError != "server returned HTTP status 500 Internal Server Error" || !a.LastScrape.Equal(last) ||
		a.LastScrapeDuration != 1.5 || a.ScrapeInterval != "15s" || a.ScrapeTimeout != "10s" ||
		a.Labels["instance"] != "127.0.0.1:9100" || a.DiscoveredLabels["__metrics_path__"] != "/metrics" {
		t.Fatalf("active target = %+v", a)
	}
	if !strings.Contains(r.Raw, `"lastScrape":"2026-01-02T03:04:05.6Z"`) {
		t.Errorf("lastScrape not RFC 3339: %s", r.Raw)
	}
	if d.Dropped[0]["discoveredLabels"]["__address__"] != "127.0.0.1:9200" {
		t.Fatalf("dropped = %s", r.Data)
	}

	d, r = get("active")
	if len(d.Active) != 1 || d.Dropped == nil || len(d.Dropped) != 0 || !strings.Contains(string(r.Data), `"droppedTargets":[]`) {
		t.Fatalf("state=active: %s", r.Data)
	}
	d, r = get("dropped")
	if len(d.Active) != 0 || len(d.Dropped) != 1 || !strings.Contains(string(r.Data), `"activeTargets":[]`) {
		t.Fatalf("state=dropped: %s", r.Data)
	}
	if d, _ := get("any"); len(d.Active) != 1 || len(d.Dropped) != 1 {
		t.Fatalf("state=any: %+v", d)
	}

	// No targets at all: empty lists, not null.
	s.tgt.active, s.tgt.dropped = nil, nil
	_, r = get("")
	if string(r.Data) != `{"activeTargets":[],"droppedTargets":[]}` {
		t.Fatalf("no targets: %s", r.Data)
	}
}

// The handler answers queries running concurrently (for the race detector)
// and honours the request's context.
func TestConcurrentQueries(t *testing.T) {
	s := newServer(t)
	errc := make(chan string, 20)
	for i := range 20 {
		go func() {
			p := params("query", "m", "time", "30")
			path := "/api/v1/query"
			if i%2 == 1 {
				p = params("query", "m", "start", "0", "end", "30", "step", "1")
				path = "/api/v1/query_range"
			}
			resp, err := http.PostForm(s.url+path, p)
			if err != nil {
				errc <- err.Error()
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !bytes.Contains(body, []byte(`"status":"success"`)) {
				errc <- string(body)
				return
			}
			errc <- ""
		}()
	}
	for range 20 {
		select {
		case e := <-errc:
			if e != "" {
				t.Fatal(e)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("queries did not finish")
		}
	}
}
