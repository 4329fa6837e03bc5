package remote

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/labels"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
)

const ctV2 = "application/x-protobuf;proto=io.prometheus.write.v2.Request"

func postV2(t *testing.T, h http.Handler, req *writev2.Request) *httptest.ResponseRecorder {
	t.Helper()
	raw, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, "/api/v1/write", bytes.NewReader(snappy.Encode(nil, raw)))
	r.Header.Set("Content-Type", ctV2)
	r.Header.Set("Content-Encoding", "snappy")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

// A 2.0 request is stored as a 1.0 one would be, start timestamps
// included, and the sender is told what was written.
func TestReceiverStoresRemoteWrite2(t *testing.T) {
	db := openTSDB(t)
	rc := NewReceiver(db, nil, nil)
	syms := writev2.NewSymbolTable()
	counter := syms.SymbolizeLabels(labels.FromStrings("__name__", "c_total", "job", "rw2"), nil)
	hist := syms.SymbolizeLabels(labels.FromStrings("__name__", "h", "job", "rw2"), nil)
	trace := syms.SymbolizeLabels(labels.FromStrings("trace_id", "abc"), nil)
	req := &writev2.Request{Timeseries: []writev2.TimeSeries{
		{
			LabelsRefs: counter,
			Samples:    []writev2.Sample{{Value: 1, Timestamp: 2000, StartTimestamp: 1500}, {Value: 3, Timestamp: 3000, StartTimestamp: 1500}},
			Exemplars:  []writev2.Exemplar{{LabelsRefs: trace, Value: 1, Timestamp: 2000}},
		},
		{LabelsRefs: hist, Histograms: []writev2.Histogram{writev2.FromIntHistogram(0, 2000, testHistogram())}},
	}}
	req.Symbols = syms.Symbols()
	rec := postV2(t, rc, req)
	if rec.Code != http.StatusNoContent {
		t.Fatalf("code %d: %s", rec.Code, rec.Body)
	}
	for h, want := range map[string]string{"Samples": "2", "Histograms": "1", "Exemplars": "1"} {
		if got := rec.Header().Get("X-Prometheus-Remote-Write-" + h + "-Written"); got != want {
			t.Errorf("%s written header %q, want %q", h, got, want)
		}
	}
	if count(t, db, "c_total") != 2 || count(t, db, "h") != 1 {
		t.Fatal("samples not stored")
	}
	if st := readST(t, db, 3000); st != 1500 {
		t.Errorf("start timestamp %d stored, want 1500", st)
	}
}

// A label reference outside the symbol table makes the request malformed:
// 400, and nothing of it stored, not even its well-formed series.
func TestReceiverRefusesMalformedRemoteWrite2(t *testing.T) {
	db := openTSDB(t)
	rc := NewReceiver(db, nil, nil)
	syms := writev2.NewSymbolTable()
	good := syms.SymbolizeLabels(labels.FromStrings("__name__", "c_total", "job", "rw2"), nil)
	req := &writev2.Request{Timeseries: []writev2.TimeSeries{
		{LabelsRefs: good, Samples: []writev2.Sample{{Value: 1, Timestamp: 2000}}},
		{LabelsRefs: []uint32{1, 99}, Samples: []writev2.Sample{{Value: 1, Timestamp: 2000}}},
	}}
	req.Symbols = syms.Symbols()
	rec := postV2(t, rc, req)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "series 1") {
		t.Fatalf("code %d: %s", rec.Code, rec.Body)
	}
	if got := rec.Header().Get("X-Prometheus-Remote-Write-Samples-Written"); got != "0" {
		t.Errorf("samples written header %q, want 0", got)
	}
	if n := count(t, db, "c_total"); n != 0 {
		t.Fatalf("%d samples of a malformed request stored", n)
	}
}
