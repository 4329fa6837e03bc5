package api

import (
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/graftlabs/graft/pkg/scrape"
	"github.com/graftlabs/graft/pkg/storage"
)

// MetadataSource reports the metadata of scraped metric families: every
// distinct metadata per family (targets may disagree).
type MetadataSource interface {
	Metadata() map[string][]scrape.Metadata
}

// metadata serves /api/v1/metadata.
func (a *API) metadata(w http.ResponseWriter, r *http.Request) {
	limit, err := parseLimit(r, "limit")
	if err != nil {
		writeError(w, badData(err))
		return
	}
	perMetric, err := parseLimit(r, "limit_per_metric")
	if err != nil {
		writeError(w, badData(err))
		return
	}
	out := map[string][]scrape.Metadata{}
	if a.Metadata == nil {
		writeData(w, out, nil)
		return
	}
	metric := r.FormValue("metric")
	all := a.Metadata.Metadata()
	names := make([]string, 0, len(all))
	for name := range all {
		if metric == "" || name == metric {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		if limit >= 0 && len(out) >= limit {
			break
		}
		ms := all[name]
		if perMetric > 0 && len(ms) > perMetric {
			ms = ms[:perMetric]
		}
		out[name] = ms
	}
	writeData(w, out, nil)
}

// tsdbStatus is the data of /api/v1/status/tsdb.
type tsdbStatus struct {
	HeadStats                   headStats `json:"headStats"`
	SeriesCountByMetricName     []stat    `json:"seriesCountByMetricName"`
	LabelValueCountByLabelName  []stat    `json:"labelValueCountByLabelName"`
	MemoryInBytesByLabelName    []stat    `json:"memoryInBytesByLabelName"`
	SeriesCountByLabelValuePair []stat    `json:"seriesCountByLabelValuePair"`
}

type headStats struct {
	NumSeries     uint64 `json:"numSeries"`
	NumLabelPairs int    `json:"numLabelPairs"`
	ChunkCount    int64  `json:"chunkCount"`
	MinTime       int64  `json:"minTime"`
	MaxTime       int64  `json:"maxTime"`
}

type stat struct {
	Name  string `json:"name"`
	Value uint64 `json:"value"`
}

// tsdbStatus serves /api/v1/status/tsdb from the storage's own
// cardinality statistics.
func (a *API) tsdbStatus(w http.ResponseWriter, r *http.Request) {
	limit, err := parseLimit(r, "limit")
	if err == nil && limit == 0 {
		err = errors.New("limit must be a positive number")
	}
	if err != nil {
		writeError(w, badData(err))
		return
	}
	if limit < 0 {
		limit = 10
	}
	cs, ok := a.Storage.(storage.CardinalityStatter)
	if !ok {
		writeError(w, &apiError{typ: errorUnavailable, err: errors.New("this storage does not report cardinality statistics")})
		return
	}
	st, err := cs.CardinalityStats(r.Context(), limit)
	if err != nil {
		writeError(w, &apiError{typ: errorInternal, err: fmt.Errorf("cardinality statistics: %w", err)})
		return
	}
	h := st.Head
	writeData(w, tsdbStatus{
		HeadStats:                   headStats{NumSeries: h.NumSeries, NumLabelPairs: h.NumLabelPairs, ChunkCount: h.ChunkCount, MinTime: h.MinTime, MaxTime: h.MaxTime},
		SeriesCountByMetricName:     statList(st.SeriesCountByMetricName),
		LabelValueCountByLabelName:  statList(st.LabelValueCountByLabelName),
		MemoryInBytesByLabelName:    statList(st.MemoryInBytesByLabelName),
		SeriesCountByLabelValuePair: statList(st.SeriesCountByLabelValuePair),
	}, nil)
}

func statList(entries []storage.StatEntry) []stat {
	out := make([]stat, len(entries))
	for i, e := range entries {
		out[i] = stat{Name: e.Name, Value: e.Value}
	}
	return out
}
