package remote

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gogo/protobuf/proto"
	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"

	"github.com/graftlabs/graft/pkg/storage"
	"github.com/graftlabs/graft/pkg/storage/memstore"
)

func encode(t *testing.T, req *prompb.WriteRequest) []byte {
	t.Helper()
	raw, err := proto.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return snappy.Encode(nil, raw)
}

func series(name string, samples ...prompb.Sample) prompb.TimeSeries {
	return prompb.TimeSeries{
		Labels:  []prompb.Label{{Name: "__name__", Value: name}, {Name: "job", Value: "rw"}},
		Samples: samples,
	}
}

func post(t *testing.T, h http.Handler, body []byte, contentType string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/api/v1/write", bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Content-Encoding", "snappy")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	b, _ := io.ReadAll(rec.Body)
	return rec.Code, string(b)
}

func count(t *testing.T, s storage.Queryable, name string) int {
	t.Helper()
	q, _ := s.Querier(0, 1<<62)
	ss := q.Select(context.Background(), nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", name))
	n := 0
	for ss.Next() {
		it := ss.At().Iterator(nil)
		for it.Next() != storage.ValNone {
			n++
		}
	}
	return n
}

func TestReceiverStoresSamples(t *testing.T) {
	st := memstore.New()
	rc := NewReceiver(st, nil, nil)
	body := encode(t, &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
		series("a", prompb.Sample{Timestamp: 1000, Value: 1}, prompb.Sample{Timestamp: 2000, Value: 2}),
		series("b", prompb.Sample{Timestamp: 1000, Value: 5}),
	}})
	if code, msg := post(t, rc, body, "application/x-protobuf"); code != http.StatusNoContent {
		t.Fatalf("code %d: %s", code, msg)
	}
	if count(t, st, "a") != 2 || count(t, st, "b") != 1 {
		t.Fatal("samples not stored")
	}

	// An out-of-order sample is refused with 400; the good ones of the same
	// request are kept.
	body = encode(t, &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
		series("a", prompb.Sample{Timestamp: 500, Value: 0}),
		series("c", prompb.Sample{Timestamp: 1000, Value: 1}),
	}})
	code, msg := post(t, rc, body, "")
	if code != http.StatusBadRequest || !strings.Contains(msg, "out_of_order") {
		t.Fatalf("code %d: %s", code, msg)
	}
	if count(t, st, "c") != 1 || count(t, st, "a") != 2 {
		t.Fatal("valid samples of a partly refused request lost")
	}
}

func TestReceiverRefusesBadRequests(t *testing.T) {
	rc := NewReceiver(memstore.New(), nil, nil)
	if code, _ := post(t, rc, []byte("not snappy"), ""); code != http.StatusBadRequest {
		t.Errorf("garbage: %d", code)
	}
	v3 := encode(t, &prompb.WriteRequest{})
	if code, _ := post(t, rc, v3, "application/x-protobuf;proto=io.prometheus.write.v3.Request"); code != http.StatusUnsupportedMediaType {
		t.Errorf("an unknown message: %d", code)
	}
	noName := encode(t, &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{
		Labels: []prompb.Label{{Name: "job", Value: "x"}}, Samples: []prompb.Sample{{Timestamp: 1, Value: 1}},
	}}})
	if code, msg := post(t, rc, noName, ""); code != http.StatusBadRequest || !strings.Contains(msg, "invalid_labels") {
		t.Errorf("series without a name: %d %s", code, msg)
	}
}
