package scrape

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	"github.com/prometheus/common/model"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"
	"github.com/prometheus/prometheus/model/textparse"
	"github.com/prometheus/prometheus/model/value"

	"github.com/graftlabs/graft/pkg/storage"
)

// Errors that fail a whole scrape because a configured limit was crossed.
var (
	errSampleLimit = errors.New("sample limit exceeded")
	errLabelLimits = errors.New("label limits exceeded")
	errTargetLimit = errors.New("target_limit exceeded")
)

// cacheEntry remembers what one exposed series line became: its storage ref
// and final labels, or that metric relabeling dropped it.
type cacheEntry struct {
	ref       storage.SeriesRef
	lset      labels.Labels
	dropped   bool
	explicit  bool   // had its own timestamp: no staleness tracking
	firstIter uint64 // scrape iteration that first saw it
	lastIter  uint64 // last scrape iteration that saw it
}

// seriesCache maps the raw series text of a scrape to its cache entry. Entries
// not seen in an iteration are the series that disappeared: they get stale
// markers and are forgotten.
type seriesCache struct {
	entries map[string]*cacheEntry
	iter    uint64
}

func newSeriesCache() *seriesCache {
	return &seriesCache{entries: map[string]*cacheEntry{}}
}

// appendStats counts what one scrape produced.
type appendStats struct {
	scraped           int // samples exposed by the target
	postRelabel       int // samples left after metric relabeling
	seriesAdded       int // series not seen in the previous scrape
	outOfOrder        int
	duplicate         int
	outOfBounds       int
	staleWritten      int
	exemplars         int
	exemplarsRejected int
}

// sampleSink parses one scrape body and appends it.
type sampleSink struct {
	cfg    *promconfig.ScrapeConfig
	target labels.Labels
	cache  *seriesCache
	app    storage.Appender
	// stApp is app when start timestamps are to be stored, else nil.
	stApp storage.StartTimestampAppender
	ts    int64
	stats appendStats
	// metadata collects the # TYPE, # HELP and # UNIT lines of the body.
	metadata map[string]Metadata
}

// parserOptions picks the fallback used when a target sends no or an
// unknown Content-Type: the configured one, else the Prometheus text format.
func parserOptions(cfg *promconfig.ScrapeConfig) textparse.ParserOptions {
	fallback := "text/plain"
	if cfg.ScrapeFallbackProtocol != "" {
		fallback = cfg.ScrapeFallbackProtocol.HeaderMediaType()
	}
	return textparse.ParserOptions{
		FallbackContentType:                     fallback,
		OpenMetricsSkipSTSeries:                 true,
		IgnoreNativeHistograms:                  !cfg.ScrapeNativeHistogramsEnabled(),
		ConvertClassicHistogramsToNHCB:          cfg.ConvertClassicHistogramsToNHCBEnabled(),
		KeepClassicOnClassicAndNativeHistograms: cfg.AlwaysScrapeClassicHistogramsEnabled(),
	}
}

// appendBody parses b and appends every sample. On error nothing of this
// scrape should be committed: the caller rolls back.
func (s *sampleSink) appendBody(b []byte, contentType string) error {
	s.cache.iter++
	p, err := textparse.New(b, contentType, nil, parserOptions(s.cfg))
	if p == nil {
		return fmt.Errorf("cannot parse scrape: %w", err)
	}
	var lset labels.Labels
	for {
		entry, err := p.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("parse scrape: %w", err)
		}
		var err2 error
		switch entry {
		case textparse.EntrySeries:
			raw, explicitTS, v := p.Series()
			err2 = s.appendSample(p, raw, explicitTS, &lset, func(ref storage.SeriesRef, l labels.Labels, t int64) (storage.SeriesRef, error) {
				if st := s.startTimestamp(p); st != 0 {
					return s.stApp.AppendWithStartTimestamp(ref, l, st, t, v, nil, nil)
				}
				return s.app.Append(ref, l, t, v)
			})
		case textparse.EntryHistogram:
			raw, explicitTS, h, fh := p.Histogram()
			err2 = s.appendSample(p, raw, explicitTS, &lset, func(ref storage.SeriesRef, l labels.Labels, t int64) (storage.SeriesRef, error) {
				if st := s.startTimestamp(p); st != 0 {
					return s.stApp.AppendWithStartTimestamp(ref, l, st, t, 0, h, fh)
				}
				return s.app.AppendHistogram(ref, l, t, h, fh)
			})
		case textparse.EntryType, textparse.EntryHelp, textparse.EntryUnit:
			if s.metadata != nil {
				recordMetadata(p, entry, s.metadata)
			}
			continue
		default:
			continue // comments
		}
		if err2 != nil {
			return err2
		}
	}
	if limit := s.cfg.SampleLimit; limit > 0 && uint(s.stats.postRelabel) > limit {
		return fmt.Errorf("%w: %d samples, limit %d", errSampleLimit, s.stats.postRelabel, limit)
	}
	return nil
}

// startTimestamp is the start timestamp of the current entry when they
// are stored, else 0. Asked only then: finding an OpenMetrics _created
// line means reading ahead in the body.
func (s *sampleSink) startTimestamp(p textparse.Parser) int64 {
	if s.stApp == nil {
		return 0
	}
	return p.StartTimestamp()
}

// appendFunc appends the current entry's value to series ref/lset at t.
type appendFunc func(ref storage.SeriesRef, lset labels.Labels, t int64) (storage.SeriesRef, error)

// appendSample resolves the labels of the current entry through the cache,
// appends its value with add, then its exemplars.
func (s *sampleSink) appendSample(p textparse.Parser, raw []byte, explicitTS *int64, lset *labels.Labels, add appendFunc) error {
	s.stats.scraped++
	t := s.ts
	if explicitTS != nil && s.cfg.HonorTimestamps {
		t = *explicitTS
	}
	ce, ok := s.cache.entries[string(raw)]
	if !ok {
		p.Labels(lset)
		final := mutateLabels(*lset, s.target, s.cfg.HonorLabels, s.cfg.MetricRelabelConfigs)
		ce = &cacheEntry{lset: final, dropped: final.IsEmpty(), firstIter: s.cache.iter}
		if !ce.dropped {
			if err := checkLabelLimits(s.cfg, final); err != nil {
				return err
			}
		}
		s.cache.entries[string(raw)] = ce
		if !ce.dropped {
			s.stats.seriesAdded++ // as Prometheus: dropped series are not added
		}
	}
	ce.lastIter = s.cache.iter
	ce.explicit = explicitTS != nil && s.cfg.HonorTimestamps && !s.cfg.TrackTimestampsStaleness
	if ce.dropped {
		return nil
	}
	s.stats.postRelabel++
	ref, err := add(ce.ref, ce.lset, t)
	ce.ref = ref
	if err := s.countAppendErr(err); err != nil {
		return err
	}
	if err == nil {
		s.appendExemplars(p, ce, t)
	}
	return nil
}

// appendExemplars stores the exemplars of the current entry; one without its
// own timestamp takes the sample's. Refused exemplars are counted, not fatal.
func (s *sampleSink) appendExemplars(p textparse.Parser, ce *cacheEntry, t int64) {
	var e exemplar.Exemplar
	for p.Exemplar(&e) {
		if !e.HasTs {
			e.Ts = t
		}
		if _, err := s.app.AppendExemplar(ce.ref, ce.lset, e); err != nil {
			s.stats.exemplarsRejected++
		} else {
			s.stats.exemplars++
		}
		e = exemplar.Exemplar{}
	}
}

// countAppendErr tallies per-sample refusals, which do not fail the scrape.
func (s *sampleSink) countAppendErr(err error) error {
	switch {
	case err == nil:
	case errors.Is(err, storage.ErrOutOfOrderSample):
		s.stats.outOfOrder++
	case errors.Is(err, storage.ErrDuplicateSample):
		s.stats.duplicate++
	case errors.Is(err, storage.ErrOutOfBounds):
		s.stats.outOfBounds++
	default:
		return fmt.Errorf("append: %w", err)
	}
	return nil
}

// markStale appends a stale marker for every cached series not seen in the
// current iteration and forgets it. With all=true (a failed scrape, or the
// target is gone) it ends every series of earlier scrapes; series first seen
// in a failed scrape were rolled back and are only forgotten.
func (s *sampleSink) markStale(all bool) error {
	for raw, ce := range s.cache.entries {
		if !all && ce.lastIter == s.cache.iter {
			continue
		}
		delete(s.cache.entries, raw)
		if ce.dropped || ce.explicit || (all && ce.firstIter == s.cache.iter) {
			continue
		}
		_, err := s.app.Append(ce.ref, ce.lset, s.ts, math.Float64frombits(value.StaleNaN))
		if err := s.countAppendErr(err); err != nil {
			return err
		}
		if err == nil {
			s.stats.staleWritten++
		}
	}
	return nil
}

// mutateLabels attaches the target's labels to a scraped series. Without
// honor_labels a clash renames the scraped label to exported_<name>; with it,
// the scraped value wins. Metric relabeling runs last; an empty result means
// the series is dropped.
func mutateLabels(scraped, target labels.Labels, honor bool, rc []*relabel.Config) labels.Labels {
	lb := labels.NewBuilder(scraped)
	if honor {
		target.Range(func(l labels.Label) {
			if !scraped.Has(l.Name) {
				lb.Set(l.Name, l.Value)
			}
		})
	} else {
		var clashes []labels.Label
		target.Range(func(l labels.Label) {
			if v := scraped.Get(l.Name); v != "" {
				clashes = append(clashes, labels.Label{Name: l.Name, Value: v})
			}
			lb.Set(l.Name, l.Value)
		})
		renameClashes(lb, clashes)
	}
	if !relabel.ProcessBuilder(lb, rc...) {
		return labels.EmptyLabels()
	}
	return lb.Labels()
}

// renameClashes moves each clashing scraped label to exported_<name>,
// prefixing again while that name is taken too. Shorter names go first so
// that the outcome does not depend on label order.
func renameClashes(lb *labels.Builder, clashes []labels.Label) {
	slices.SortStableFunc(clashes, func(a, b labels.Label) int { return len(a.Name) - len(b.Name) })
	for _, l := range clashes {
		name := model.ExportedLabelPrefix + l.Name
		for lb.Get(name) != "" {
			name = model.ExportedLabelPrefix + name
		}
		lb.Set(name, l.Value)
	}
}

func checkLabelLimits(cfg *promconfig.ScrapeConfig, lset labels.Labels) error {
	if cfg.LabelLimit > 0 && uint(lset.Len()) > cfg.LabelLimit {
		return fmt.Errorf("%w: %d labels in %s, limit %d", errLabelLimits, lset.Len(), lset, cfg.LabelLimit)
	}
	var err error
	lset.Range(func(l labels.Label) {
		if err != nil {
			return
		}
		if n := cfg.LabelNameLengthLimit; n > 0 && uint(len(l.Name)) > n {
			err = fmt.Errorf("%w: label name %q longer than %d", errLabelLimits, l.Name, n)
		}
		if n := cfg.LabelValueLengthLimit; n > 0 && uint(len(l.Value)) > n {
			err = fmt.Errorf("%w: value of label %q longer than %d", errLabelLimits, l.Name, n)
		}
	})
	return err
}

// reportSeries are the synthetic series written for every scrape.
var reportSeries = []string{
	"up",
	"scrape_duration_seconds",
	"scrape_samples_scraped",
	"scrape_samples_post_metric_relabeling",
	"scrape_series_added",
}

// reportValues returns the values of reportSeries for one scrape.
func reportValues(st appendStats, dur time.Duration, scrapeErr error) []float64 {
	up := 1.0
	if scrapeErr != nil {
		up = 0
	}
	return []float64{up, dur.Seconds(), float64(st.scraped), float64(st.postRelabel), float64(st.seriesAdded)}
}
