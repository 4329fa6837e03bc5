package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/api"
	"github.com/graftlabs/graft/pkg/promql"
	"github.com/graftlabs/graft/pkg/scrape"
	"github.com/graftlabs/graft/pkg/storage"
	"github.com/graftlabs/graft/pkg/storage/memstore"
	"github.com/graftlabs/graft/pkg/storage/tsdb"
)

type fakeMetadata map[string][]scrape.Metadata

func (f fakeMetadata) Metadata() map[string][]scrape.Metadata { return f }

// newExtraServer serves a store with a native histogram series, a counter
// with an exemplar, and metadata for two families.
func newExtraServer(t *testing.T) *server {
	t.Helper()
	return newExtraServerOn(t, memstore.New())
}

// extraStore is what the extra endpoints read from a store.
type extraStore interface {
	storage.Storage
	storage.ExemplarQueryable
}

// newExtraServerOn is newExtraServer over a given store.
func newExtraServerOn(t *testing.T, st extraStore) *server {
	t.Helper()
	app := st.Appender(context.Background())
	h := labels.FromStrings("__name__", "latency_seconds", "job", "api")
	for i := range 3 {
		hist := &histogram.Histogram{
			Count: uint64(2 * (i + 1)), Sum: float64(i+1) * 1.5, Schema: 0,
			PositiveSpans: []histogram.Span{{Offset: 0, Length: 2}}, PositiveBuckets: []int64{int64(i + 1), 0},
		}
		if _, err := app.AppendHistogram(0, h, int64(i)*10_000, hist, nil); err != nil {
			t.Fatal(err)
		}
	}
	c := labels.FromStrings("__name__", "requests", "job", "api")
	ref, err := app.Append(0, c, 10_000, 5)
	if err != nil {
		t.Fatal(err)
	}
	ex := exemplar.Exemplar{Labels: labels.FromStrings("trace_id", "abc"), Value: 1.5, Ts: 9_500, HasTs: true}
	if _, err := app.AppendExemplar(ref, c, ex); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Append(ref, c, 20_000, 8); err != nil {
		t.Fatal(err)
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	a := &api.API{
		Storage:   st,
		Engine:    promql.NewEngine(promql.EngineOpts{}),
		Exemplars: st,
		Metadata: fakeMetadata{
			"requests":        {{Type: "counter", Help: "Requests served.", Unit: ""}},
			"latency_seconds": {{Type: "histogram", Help: "Latency.", Unit: "seconds"}},
		},
		Now: func() time.Time { return time.Unix(30, 0) },
	}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	return &server{t: t, url: srv.URL}
}

func TestQueryHistogramEncoding(t *testing.T) {
	s := newExtraServer(t)
	r := s.both("/api/v1/query", params("query", "latency_seconds", "time", "20")).success(t)
	want := `{"resultType":"vector","result":[{"metric":{"__name__":"latency_seconds","job":"api"},` +
		`"histogram":[20,{"count":"6","sum":"4.5","buckets":[[0,"0.5","1","3"],[0,"1","2","3"]]}]}]}`
	if string(r.Data) != want {
		t.Errorf("vector:\n got %s\nwant %s", r.Data, want)
	}
	r = s.both("/api/v1/query_range", params("query", "latency_seconds", "start", "10", "end", "20", "step", "10")).success(t)
	if !strings.Contains(string(r.Data), `"histograms":[[10,{"count":"4"`) || strings.Contains(string(r.Data), `"values"`) {
		t.Errorf("matrix: %s", r.Data)
	}
}

func TestQueryStatsLimitInfos(t *testing.T) {
	s := newExtraServer(t)
	r := s.post("/api/v1/query", params("query", "requests", "time", "20", "stats", "all")).success(t)
	var data struct {
		Stats struct {
			Timings map[string]float64 `json:"timings"`
			Samples map[string]float64 `json:"samples"`
		} `json:"stats"`
	}
	if err := json.Unmarshal(r.Data, &data); err != nil {
		t.Fatal(err)
	}
	if _, ok := data.Stats.Timings["execTotalTime"]; !ok || data.Stats.Samples["peakSamples"] < 1 {
		t.Errorf("stats missing: %s", r.Data)
	}
	if r = s.get("/api/v1/query", params("query", "requests", "time", "20")).success(t); strings.Contains(r.Raw, `"stats"`) {
		t.Errorf("stats without asking: %s", r.Raw)
	}

	r = s.get("/api/v1/query", params("query", `{job="api"}`, "time", "20", "limit", "1")).success(t)
	if len(r.Warnings) != 1 || r.Warnings[0] != "results truncated due to limit" || strings.Count(string(r.Data), `"metric"`) != 1 {
		t.Errorf("limit: %s", r.Raw)
	}

	r = s.get("/api/v1/query", params("query", "rate(requests[1m])", "time", "20")).success(t)
	if !strings.Contains(r.Raw, `"infos":["PromQL info: metric might not be a counter`) {
		t.Errorf("infos missing: %s", r.Raw)
	}
	s.get("/api/v1/query", params("query", "requests", "limit", "-1")).failure(t, http.StatusBadRequest, "bad_data", "limit")
	s.get("/api/v1/query", params("query", "requests", "lookback_delta", "x")).failure(t, http.StatusBadRequest, "bad_data", "lookback_delta")
	// A short lookback finds nothing: the newest sample is 5s old.
	if r = s.get("/api/v1/query", params("query", "requests", "time", "25", "lookback_delta", "4s")).success(t); string(r.Data) != `{"resultType":"vector","result":[]}` {
		t.Errorf("lookback_delta: %s", r.Data)
	}
}

func TestQueryExemplars(t *testing.T) {
	s := newExtraServer(t)
	r := s.both("/api/v1/query_exemplars", params("query", `sum(rate(requests{job="api"}[5m]))`, "start", "0", "end", "30")).success(t)
	want := `[{"seriesLabels":{"__name__":"requests","job":"api"},"exemplars":[{"labels":{"trace_id":"abc"},"value":"1.5","timestamp":9.5}]}]`
	if string(r.Data) != want {
		t.Errorf("got %s\nwant %s", r.Data, want)
	}
	if r = s.get("/api/v1/query_exemplars", params("query", "requests", "start", "20", "end", "30")).success(t); string(r.Data) != `[]` {
		t.Errorf("out of range: %s", r.Data)
	}
	s.get("/api/v1/query_exemplars", params("query", "sum(")).failure(t, http.StatusBadRequest, "bad_data", "parse error")
}

func TestFormatQuery(t *testing.T) {
	s := newExtraServer(t)
	r := s.both("/api/v1/format_query", params("query", `sum by(job)(rate(requests{job="api"}[5m]))`)).success(t)
	if string(r.Data) != `"sum by (job) (rate(requests{job=\"api\"}[5m]))"` {
		t.Errorf("got %s", r.Data)
	}
	s.get("/api/v1/format_query", params("query", "foo{")).failure(t, http.StatusBadRequest, "bad_data", "1:5: parse error")
}

func TestMetadata(t *testing.T) {
	s := newExtraServer(t)
	r := s.get("/api/v1/metadata", nil).success(t)
	if !strings.Contains(string(r.Data), `"requests":[{"type":"counter","help":"Requests served.","unit":""}]`) {
		t.Errorf("got %s", r.Data)
	}
	r = s.get("/api/v1/metadata", params("metric", "latency_seconds")).success(t)
	if string(r.Data) != `{"latency_seconds":[{"type":"histogram","help":"Latency.","unit":"seconds"}]}` {
		t.Errorf("metric filter: %s", r.Data)
	}
	if r = s.get("/api/v1/metadata", params("limit", "1")).success(t); strings.Count(string(r.Data), `"type"`) != 1 {
		t.Errorf("limit: %s", r.Data)
	}
	s.get("/api/v1/metadata", params("limit", "x")).failure(t, http.StatusBadRequest, "bad_data", "limit must be a number")
}

func TestTSDBStatus(t *testing.T) {
	db, err := tsdb.Open(t.TempDir(), tsdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	for name, st := range map[string]extraStore{"memstore": memstore.New(), "tsdb": db} {
		t.Run(name, func(t *testing.T) { testTSDBStatus(t, newExtraServerOn(t, st)) })
	}
	// A storage without statistics says so rather than answering empty.
	s := newExtraServerOn(t, withoutStats{memstore.New()})
	s.get("/api/v1/status/tsdb", nil).failure(t, http.StatusServiceUnavailable, "unavailable", "cardinality")
}

// withoutStats hides the storage's CardinalityStats.
type withoutStats struct{ extraStore }

func testTSDBStatus(t *testing.T, s *server) {
	r := s.get("/api/v1/status/tsdb", nil).success(t)
	var st struct {
		HeadStats struct {
			NumSeries int   `json:"numSeries"`
			MaxTime   int64 `json:"maxTime"`
		} `json:"headStats"`
		SeriesCountByMetricName []struct {
			Name  string `json:"name"`
			Value int    `json:"value"`
		} `json:"seriesCountByMetricName"`
		SeriesCountByLabelValuePair []struct {
			Name  string `json:"name"`
			Value int    `json:"value"`
		} `json:"seriesCountByLabelValuePair"`
	}
	if err := json.Unmarshal(r.Data, &st); err != nil {
		t.Fatal(err)
	}
	if st.HeadStats.NumSeries != 2 || st.HeadStats.MaxTime != 20_000 || len(st.SeriesCountByMetricName) != 2 {
		t.Errorf("got %s", r.Data)
	}
	if top := st.SeriesCountByLabelValuePair[0]; top.Name != "job=api" || top.Value != 2 {
		t.Errorf("top pair %+v in %s", top, r.Data)
	}
	s.get("/api/v1/status/tsdb", params("limit", "0")).failure(t, http.StatusBadRequest, "bad_data", "limit")
}
