package rules

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	commonconfig "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/discovery"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"
)

// Notifier queue and batch sizes, as Prometheus's defaults.
const (
	defaultQueueCapacity = 10000
	maxBatchSize         = 256
)

// Notifier sends alerts to Alertmanager's v2 API: a bounded queue drained in
// batches, every batch posted to every configured Alertmanager.
type Notifier struct {
	logger *slog.Logger

	mtx      sync.Mutex
	queue    []Alert
	targets  []amTarget
	external labels.Labels
	relabel  []*relabel.Config
	more     chan struct{}
	stopped  chan struct{}
	done     chan struct{}

	sent, errs, dropped *prometheus.CounterVec
	queueLen            prometheus.GaugeFunc
}

// amTarget is one Alertmanager endpoint with its client.
type amTarget struct {
	url     string
	client  *http.Client
	timeout time.Duration
}

// NewNotifier starts a notifier with no Alertmanagers; ApplyConfig sets them.
func NewNotifier(logger *slog.Logger, reg prometheus.Registerer) *Notifier {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	n := &Notifier{
		logger: logger, more: make(chan struct{}, 1), stopped: make(chan struct{}), done: make(chan struct{}),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "graft_notifications_sent_total", Help: "Alerts sent to Alertmanager.",
		}, []string{"alertmanager"}),
		errs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "graft_notifications_errors_total", Help: "Alerts that failed to reach an Alertmanager.",
		}, []string{"alertmanager"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "graft_notifications_dropped_total", Help: "Alerts dropped because the queue was full.",
		}, nil),
	}
	n.queueLen = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "graft_notifications_queue_length", Help: "Alerts waiting to be sent.",
	}, func() float64 { n.mtx.Lock(); defer n.mtx.Unlock(); return float64(len(n.queue)) })
	if reg != nil {
		reg.MustRegister(n.sent, n.errs, n.dropped, n.queueLen)
	}
	go n.run()
	return n
}

// ApplyConfig takes the Alertmanagers (static_configs), alert relabeling
// and external labels of the configuration. An unusable HTTP client
// configuration refuses the whole update.
func (n *Notifier) ApplyConfig(cfg *promconfig.Config) error {
	var targets []amTarget
	for _, am := range cfg.AlertingConfig.AlertmanagerConfigs {
		ts, err := amTargets(am)
		if err != nil {
			return err
		}
		targets = append(targets, ts...)
	}
	n.mtx.Lock()
	defer n.mtx.Unlock()
	n.targets = targets
	n.external = cfg.GlobalConfig.ExternalLabels
	n.relabel = cfg.AlertingConfig.AlertRelabelConfigs
	return nil
}

func amTargets(am *promconfig.AlertmanagerConfig) ([]amTarget, error) {
	if am.APIVersion != "" && am.APIVersion != promconfig.AlertmanagerAPIVersionV2 {
		return nil, fmt.Errorf("alertmanager api_version %q is not supported, only v2", am.APIVersion)
	}
	client, err := commonconfig.NewClientFromConfig(am.HTTPClientConfig, "alertmanager")
	if err != nil {
		return nil, fmt.Errorf("alertmanager HTTP client: %w", err)
	}
	var out []amTarget
	for _, sd := range am.ServiceDiscoveryConfigs {
		static, ok := sd.(discovery.StaticConfig)
		if !ok {
			return nil, fmt.Errorf("alertmanager discovery %q is not supported, only static_configs", sd.Name())
		}
		for _, g := range static {
			for _, t := range g.Targets {
				u := url.URL{Scheme: am.Scheme, Host: string(t[model.AddressLabel]), Path: path.Join("/", am.PathPrefix, "/api/v2/alerts")}
				out = append(out, amTarget{url: u.String(), client: client, timeout: time.Duration(am.Timeout)})
			}
		}
	}
	return out, nil
}

// Send queues alerts; when the queue is full the oldest are dropped.
func (n *Notifier) Send(alerts []Alert) {
	n.mtx.Lock()
	n.queue = append(n.queue, alerts...)
	if over := len(n.queue) - defaultQueueCapacity; over > 0 {
		n.queue = n.queue[over:]
		n.dropped.WithLabelValues().Add(float64(over))
	}
	n.mtx.Unlock()
	select {
	case n.more <- struct{}{}:
	default:
	}
}

// Stop ends the sending loop; queued alerts are dropped.
func (n *Notifier) Stop() {
	close(n.stopped)
	<-n.done
}

func (n *Notifier) run() {
	defer close(n.done)
	for {
		select {
		case <-n.stopped:
			return
		case <-n.more:
		}
		for n.sendBatch() {
		}
	}
}

// sendBatch posts up to maxBatchSize queued alerts; it says whether more wait.
func (n *Notifier) sendBatch() bool {
	n.mtx.Lock()
	k := min(len(n.queue), maxBatchSize)
	batch := append([]Alert(nil), n.queue[:k]...)
	n.queue = n.queue[k:]
	targets, external, rc := n.targets, n.external, n.relabel
	more := len(n.queue) > 0
	n.mtx.Unlock()
	if len(batch) == 0 || len(targets) == 0 {
		return more
	}
	body, err := json.Marshal(toAPIAlerts(batch, external, rc))
	if err != nil {
		n.logger.Error("Encoding alerts failed", "err", err)
		return more
	}
	for _, t := range targets {
		if err := post(t, body); err != nil {
			n.errs.WithLabelValues(t.url).Add(float64(len(batch)))
			n.logger.Warn("Sending alerts to Alertmanager failed", "alertmanager", t.url, "err", err)
			continue
		}
		n.sent.WithLabelValues(t.url).Add(float64(len(batch)))
	}
	return more
}

func post(t amTarget, body []byte) error {
	timeout := t.timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := t.client.Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return errors.New("bad response status " + resp.Status)
	}
	return nil
}

// apiAlert is an alert in Alertmanager's v2 API.
type apiAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// toAPIAlerts adds external labels (the alert's own win), applies alert
// relabeling (dropping alerts it empties) and sets the end: the resolution
// time, or how long a firing alert stays valid without news.
func toAPIAlerts(alerts []Alert, external labels.Labels, rc []*relabel.Config) []apiAlert {
	out := make([]apiAlert, 0, len(alerts))
	for _, a := range alerts {
		lb := labels.NewBuilder(a.Labels)
		external.Range(func(l labels.Label) {
			if !a.Labels.Has(l.Name) {
				lb.Set(l.Name, l.Value)
			}
		})
		if !relabel.ProcessBuilder(lb, rc...) {
			continue
		}
		end := a.ValidUntil
		if a.State == StateInactive {
			end = a.ResolvedAt
		}
		out = append(out, apiAlert{
			Labels: lb.Labels().Map(), Annotations: a.Annotations.Map(),
			StartsAt: a.FiredAt, EndsAt: end,
		})
	}
	return out
}
