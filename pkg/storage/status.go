package storage

import (
	"context"

	"github.com/prometheus/prometheus/model/labels"
)

// Change says that samples of a series (of every series when Labels is
// empty) were added, removed or replaced within [MinT, MaxT] (ms) at a
// generation.
type Change struct {
	Generation uint64
	Labels     labels.Labels
	MinT, MaxT int64
}

// Changes answers ChangesSince.
type Changes struct {
	// Generation is the current generation: ask from it next time.
	Generation uint64
	// Complete is false when the storage no longer holds every change since
	// the generation asked about: the caller must treat everything as changed.
	Complete bool
	Changes  []Change
}

// ChangeFeed is implemented by storages that can say what changed, so that
// a results cache can invalidate exactly the results a late sample, a
// backfill or a deletion made stale. Appends near the newest sample are
// reported as one change of every series over their time range.
type ChangeFeed interface {
	ChangesSince(generation uint64) Changes
}

// CardinalityStats is what Prometheus's /api/v1/status/tsdb reports: the
// head's statistics and, for its series, the largest entries of each list.
type CardinalityStats struct {
	Head HeadStats
	// SeriesCountByMetricName: series per metric name.
	SeriesCountByMetricName []StatEntry
	// LabelValueCountByLabelName: distinct values per label name.
	LabelValueCountByLabelName []StatEntry
	// MemoryInBytesByLabelName: bytes the label's names and values take
	// in the series' label sets.
	MemoryInBytesByLabelName []StatEntry
	// SeriesCountByLabelValuePair: series per name=value pair.
	SeriesCountByLabelValuePair []StatEntry
}

// HeadStats describe the in-memory head.
type HeadStats struct {
	NumSeries     uint64
	NumLabelPairs int
	ChunkCount    int64
	// MinTime and MaxTime bound the head's samples (ms); both 0 when empty.
	MinTime, MaxTime int64
}

// StatEntry is one line of a statistics list.
type StatEntry struct {
	Name  string
	Value uint64
}

// CardinalityStatter is implemented by storages that report cardinality.
type CardinalityStatter interface {
	// CardinalityStats returns the statistics with at most limit entries
	// per list, largest first.
	CardinalityStats(ctx context.Context, limit int) (CardinalityStats, error)
}
