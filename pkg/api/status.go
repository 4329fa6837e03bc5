package api

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/prometheus/prometheus/model/labels"

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

// StatsSource reports a storage's size.
type StatsSource interface {
	Stats() storage.Stats
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

// tsdbStatus serves /api/v1/status/tsdb: sizes from the storage's stats,
// cardinality from one pass over every series' labels.
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
	if cs, ok := a.Storage.(storage.CardinalityStatter); ok {
		a.storageStatus(w, r, cs, limit)
		return
	}
	var st storage.Stats
	if a.Stats != nil {
		st = a.Stats.Stats()
	}
	counts, err := a.cardinality(r.Context(), st)
	if err != nil {
		writeError(w, &apiError{typ: errorInternal, err: err})
		return
	}
	out := tsdbStatus{
		HeadStats:                   headStats{NumSeries: st.NumSeries, NumLabelPairs: len(counts.byPair), MinTime: st.MinTime, MaxTime: st.MaxTime},
		SeriesCountByMetricName:     topStats(counts.byMetric, limit),
		LabelValueCountByLabelName:  topStats(counts.valuesByName, limit),
		MemoryInBytesByLabelName:    topStats(counts.bytesByName, limit),
		SeriesCountByLabelValuePair: topStats(counts.byPair, limit),
	}
	writeData(w, out, nil)
}

// storageStatus answers from a storage that keeps its own cardinality
// statistics (the TSDB reads them off its postings, without a pass over
// every series).
func (a *API) storageStatus(w http.ResponseWriter, r *http.Request, cs storage.CardinalityStatter, limit int) {
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

type cardinality struct {
	byMetric, valuesByName, bytesByName, byPair map[string]uint64
}

func (a *API) cardinality(ctx context.Context, st storage.Stats) (*cardinality, error) {
	c := &cardinality{byMetric: map[string]uint64{}, valuesByName: map[string]uint64{}, bytesByName: map[string]uint64{}, byPair: map[string]uint64{}}
	q, err := a.Storage.Querier(st.MinTime, st.MaxTime)
	if err != nil {
		return nil, err
	}
	defer q.Close()
	set := q.Select(ctx, &storage.SelectHints{Start: st.MinTime, End: st.MaxTime, Func: "series", Unsorted: true},
		labels.MustNewMatcher(labels.MatchRegexp, labels.MetricName, ".+"))
	seenValue := map[string]struct{}{}
	for set.Next() {
		set.At().Labels().Range(func(l labels.Label) {
			if l.Name == labels.MetricName {
				c.byMetric[l.Value]++
			}
			pair := l.Name + "=" + l.Value
			if _, ok := seenValue[pair]; !ok {
				seenValue[pair] = struct{}{}
				c.valuesByName[l.Name]++
				c.bytesByName[l.Name] += uint64(len(l.Value))
			}
			c.byPair[pair]++
		})
	}
	return c, set.Err()
}

// topStats returns the limit largest entries, largest first.
func topStats(m map[string]uint64, limit int) []stat {
	out := make([]stat, 0, len(m))
	for k, v := range m {
		out = append(out, stat{Name: k, Value: v})
	}
	slices.SortFunc(out, func(a, b stat) int {
		if c := cmp.Compare(b.Value, a.Value); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}
