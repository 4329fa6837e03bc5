package scrape

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/model"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"
)

// Health is the state of a target after its last scrape.
type Health string

// Target health values, as Prometheus reports them.
const (
	HealthUnknown Health = "unknown"
	HealthGood    Health = "up"
	HealthBad     Health = "down"
)

// Target is one endpoint to scrape: its final labels, the labels discovery
// gave it, and the outcome of its last scrape.
type Target struct {
	labels     labels.Labels // attached to every scraped series
	discovered labels.Labels // before relabeling, for the targets API
	url        *url.URL
	interval   time.Duration
	timeout    time.Duration

	mtx            sync.RWMutex
	health         Health
	lastError      error
	lastScrape     time.Time
	lastDuration   time.Duration
	lastSampleSize int
}

// TargetStatus is a read-only snapshot of a target for APIs and health checks.
type TargetStatus struct {
	Job                string
	Labels             labels.Labels
	DiscoveredLabels   labels.Labels
	ScrapeURL          string
	Health             Health
	LastError          string
	LastScrape         time.Time
	LastScrapeDuration time.Duration
	ScrapeInterval     time.Duration
	ScrapeTimeout      time.Duration
}

func (t *Target) status() TargetStatus {
	t.mtx.RLock()
	defer t.mtx.RUnlock()
	s := TargetStatus{
		Job:                t.labels.Get(model.JobLabel),
		Labels:             t.labels,
		DiscoveredLabels:   t.discovered,
		ScrapeURL:          t.url.String(),
		Health:             t.health,
		LastScrape:         t.lastScrape,
		LastScrapeDuration: t.lastDuration,
		ScrapeInterval:     t.interval,
		ScrapeTimeout:      t.timeout,
	}
	if t.lastError != nil {
		s.LastError = t.lastError.Error()
	}
	return s
}

func (t *Target) report(start time.Time, dur time.Duration, err error) {
	t.mtx.Lock()
	defer t.mtx.Unlock()
	t.lastScrape, t.lastDuration, t.lastError = start, dur, err
	if err != nil {
		t.health = HealthBad
	} else {
		t.health = HealthGood
	}
}

// key identifies a target inside its job, for diffing target sets on reload.
func (t *Target) key() string {
	return t.labels.String() + "|" + t.url.String()
}

// targetFromGroup builds the target for one discovered address the way
// Prometheus does: discovered labels, then the job's defaults, then target
// relabeling, then the instance default. It returns a nil target and no
// error when relabeling dropped the target. The discovered labels (before
// relabeling, with the job's defaults) come back in every case, for the
// targets API.
func targetFromGroup(cfg *promconfig.ScrapeConfig, tLabels, groupLabels model.LabelSet) (*Target, labels.Labels, error) {
	lb := labels.NewBuilder(labels.EmptyLabels())
	for n, v := range groupLabels {
		lb.Set(string(n), string(v))
	}
	for n, v := range tLabels {
		lb.Set(string(n), string(v))
	}
	setDefault := func(name, value string) {
		if lb.Get(name) == "" {
			lb.Set(name, value)
		}
	}
	setDefault(model.JobLabel, cfg.JobName)
	setDefault(model.ScrapeIntervalLabel, cfg.ScrapeInterval.String())
	setDefault(model.ScrapeTimeoutLabel, cfg.ScrapeTimeout.String())
	setDefault(model.MetricsPathLabel, cfg.MetricsPath)
	setDefault(model.SchemeLabel, cfg.Scheme)
	for k, v := range cfg.Params {
		if len(v) > 0 {
			setDefault(model.ParamLabelPrefix+k, v[0])
		}
	}
	discovered := lb.Labels()

	if !relabel.ProcessBuilder(lb, cfg.RelabelConfigs...) {
		return nil, discovered, nil
	}
	t, err := finishTarget(cfg, lb, discovered)
	return t, discovered, err
}

// finishTarget validates the relabeled labels and derives URL and timing.
func finishTarget(cfg *promconfig.ScrapeConfig, lb *labels.Builder, discovered labels.Labels) (*Target, error) {
	addr := lb.Get(model.AddressLabel)
	if addr == "" {
		return nil, errors.New("no address")
	}
	if err := promconfig.CheckTargetAddress(model.LabelValue(addr)); err != nil {
		return nil, err
	}
	interval, err := model.ParseDuration(lb.Get(model.ScrapeIntervalLabel))
	if err != nil || interval <= 0 {
		return nil, fmt.Errorf("invalid scrape interval %q", lb.Get(model.ScrapeIntervalLabel))
	}
	timeout, err := model.ParseDuration(lb.Get(model.ScrapeTimeoutLabel))
	if err != nil || timeout <= 0 {
		return nil, fmt.Errorf("invalid scrape timeout %q", lb.Get(model.ScrapeTimeoutLabel))
	}
	if timeout > interval {
		return nil, fmt.Errorf("scrape timeout cannot be greater than scrape interval (%q > %q)", timeout, interval)
	}

	u := &url.URL{
		Scheme: lb.Get(model.SchemeLabel),
		Host:   addr,
		Path:   lb.Get(model.MetricsPathLabel),
	}
	params := url.Values{}
	for k, v := range cfg.Params {
		params[k] = append([]string(nil), v...)
	}
	var final []labels.Label
	lb.Range(func(l labels.Label) {
		if name, ok := strings.CutPrefix(l.Name, model.ParamLabelPrefix); ok {
			if len(params[name]) == 0 {
				params[name] = []string{l.Value}
			} else {
				params[name][0] = l.Value
			}
		}
		if !strings.HasPrefix(l.Name, model.ReservedLabelPrefix) {
			final = append(final, l)
		}
	})
	u.RawQuery = params.Encode()

	lset := labels.New(final...)
	if !lset.Has(model.InstanceLabel) {
		lset = labels.NewBuilder(lset).Set(model.InstanceLabel, addr).Labels()
	}
	return &Target{
		labels:     lset,
		discovered: discovered,
		url:        u,
		interval:   time.Duration(interval),
		timeout:    time.Duration(timeout),
		health:     HealthUnknown,
	}, nil
}
