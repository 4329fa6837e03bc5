package scrape

import (
	"context"
	"net/http"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
)

func TestScrapeStoresExemplars(t *testing.T) {
	h := newHarness(t, "")
	body := `# TYPE requests counter
requests_total{path="/"} 10 # {trace_id="abc"} 1.0 1700000000.000
requests_total{path="/x"} 3 # {trace_id="def"} 2.0
# EOF
`
	h.target.set(http.StatusOK, ctOM, body)
	ts := h.scrape(1)
	eq, err := h.store.ExemplarQuerier(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	res, err := eq.Select(0, ts+1, []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "__name__", "requests_total")})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 {
		t.Fatalf("exemplars of %d series, want 2: %+v", len(res), res)
	}
	// Sorted by series labels: path="/" first.
	if got := res[0].SeriesLabels; !labels.Equal(got, h.lbl("requests_total", "path", "/")) {
		t.Errorf("series labels %s", got)
	}
	e := res[0].Exemplars[0]
	if e.Labels.Get("trace_id") != "abc" || e.Ts != 1700000000000 || e.Value != 1 {
		t.Errorf("exemplar with its own timestamp: %+v", e)
	}
	// Without its own timestamp, an exemplar takes the scrape's.
	if e := res[1].Exemplars[0]; e.Labels.Get("trace_id") != "def" || e.Ts != ts {
		t.Errorf("exemplar without timestamp: %+v, want ts %d", e, ts)
	}
}
