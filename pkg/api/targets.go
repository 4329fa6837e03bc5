package api

import (
	"net/http"
	"time"

	"github.com/prometheus/common/model"
)

type targetJSON struct {
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

type droppedJSON struct {
	DiscoveredLabels map[string]string `json:"discoveredLabels"`
}

// targets serves /api/v1/targets with the optional state filter
// (active, dropped, any).
func (a *API) targets(w http.ResponseWriter, r *http.Request) {
	state := r.FormValue("state")
	active, dropped := []targetJSON{}, []droppedJSON{}
	if state == "" || state == "any" || state == "active" {
		for _, t := range a.Targets.Targets() {
			active = append(active, targetJSON{
				DiscoveredLabels:   t.DiscoveredLabels.Map(),
				Labels:             t.Labels.Map(),
				ScrapePool:         t.Job,
				ScrapeURL:          t.ScrapeURL,
				LastError:          t.LastError,
				LastScrape:         t.LastScrape,
				LastScrapeDuration: t.LastScrapeDuration.Seconds(),
				Health:             string(t.Health),
				ScrapeInterval:     model.Duration(t.ScrapeInterval).String(),
				ScrapeTimeout:      model.Duration(t.ScrapeTimeout).String(),
			})
		}
	}
	if state == "" || state == "any" || state == "dropped" {
		for _, t := range a.Targets.DroppedTargets() {
			dropped = append(dropped, droppedJSON{DiscoveredLabels: t.DiscoveredLabels})
		}
	}
	writeData(w, map[string]any{"activeTargets": active, "droppedTargets": dropped}, nil)
}
