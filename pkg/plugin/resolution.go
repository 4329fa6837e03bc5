package plugin

import (
	"fmt"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend/gtime"
)

// Downsampled data: panels read it the way Thanos answers
// max_source_resolution=auto, which Grafana's Thanos users set: at most a
// fifth of the step, so that 5m data serves steps of 25m and more and 1h
// data steps of 5h and more, while instant queries read raw samples. The
// datasource's maxSourceResolution setting, or a query's, replaces auto
// with raw or a fixed resolution. The engine still reads raw samples for
// every selector that downsampled data would answer wrongly.

// resolutionChoice is a parsed maxSourceResolution: auto, or a fixed
// resolution (0 for raw samples).
type resolutionChoice struct {
	auto  bool
	fixed time.Duration
}

// parseResolutionChoice reads auto (or empty), raw, or a duration.
func parseResolutionChoice(v string) (resolutionChoice, error) {
	switch v {
	case "", "auto":
		return resolutionChoice{auto: true}, nil
	case "raw":
		return resolutionChoice{}, nil
	}
	d, err := gtime.ParseDuration(v)
	if err != nil || d < 0 {
		return resolutionChoice{}, fmt.Errorf("invalid max source resolution %q: use auto, raw or a duration such as 5m", v)
	}
	return resolutionChoice{fixed: d}, nil
}

// forQuery is the coarsest resolution a query with this step may read.
func (c resolutionChoice) forQuery(step time.Duration, rangeQuery bool) time.Duration {
	switch {
	case !c.auto:
		return c.fixed
	case rangeQuery:
		return step / 5
	}
	return 0
}

// resolutionFor is the choice for a query: its own, else the datasource's.
func (d *Datasource) resolutionFor(q *query) (resolutionChoice, error) {
	if q.maxSourceResolution == "" {
		return d.resolution, nil
	}
	return parseResolutionChoice(q.maxSourceResolution)
}
