// Package demo is a small built-in scrape target: a simulated fleet of web
// services exposing RED metrics (requests, errors, latency histograms with
// trace exemplars) and resource gauges in the OpenMetrics format, so that a
// fresh Graft has realistic data to show before any real target is added.
package demo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Target simulates traffic lazily: every scrape advances the simulation by
// the time elapsed since the previous one, so it costs nothing when idle.
type Target struct {
	mtx      sync.Mutex
	rng      *rand.Rand
	last     time.Time
	now      func() time.Time
	services []service

	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	cpu      *prometheus.CounterVec
	memory   *prometheus.GaugeVec
	inflight *prometheus.GaugeVec
	handler  http.Handler
}

type service struct {
	name      string
	rps       float64 // mean requests per second
	errRatio  float64
	medianLat float64 // seconds
	memBase   float64
}

var defaultServices = []service{
	{name: "checkout", rps: 40, errRatio: 0.02, medianLat: 0.120, memBase: 350e6},
	{name: "catalog", rps: 120, errRatio: 0.004, medianLat: 0.035, memBase: 520e6},
	{name: "auth", rps: 60, errRatio: 0.01, medianLat: 0.015, memBase: 180e6},
}

var routes = []string{"/", "/api/items", "/api/orders"}

// New returns a demo target seeded with seed; now is the clock (nil: real time).
func New(seed uint64, now func() time.Time) *Target {
	if now == nil {
		now = time.Now
	}
	t := &Target{
		rng:      rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		now:      now,
		services: defaultServices,
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "demo_http_requests_total", Help: "HTTP requests served, by service, route, method and status code.",
		}, []string{"service", "route", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "demo_http_request_duration_seconds", Help: "HTTP request latency.",
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5},
		}, []string{"service", "route"}),
		cpu: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "demo_process_cpu_seconds_total", Help: "CPU time consumed by the service.",
		}, []string{"service"}),
		memory: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "demo_process_resident_memory_bytes", Help: "Resident memory of the service.",
		}, []string{"service"}),
		inflight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "demo_http_requests_in_flight", Help: "Requests being served right now.",
		}, []string{"service"}),
	}
	t.registry.MustRegister(t.requests, t.latency, t.cpu, t.memory, t.inflight)
	t.handler = promhttp.HandlerFor(t.registry, promhttp.HandlerOpts{EnableOpenMetrics: true})
	t.last = now()
	return t
}

// ServeHTTP advances the simulation and serves the metrics.
func (t *Target) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t.Advance()
	t.handler.ServeHTTP(w, r)
}

// Advance simulates the traffic since the previous call, at most one minute
// of it (a long idle gap is not worth replaying request by request).
func (t *Target) Advance() {
	t.mtx.Lock()
	defer t.mtx.Unlock()
	now := t.now()
	elapsed := min(now.Sub(t.last).Seconds(), 60)
	t.last = now
	if elapsed <= 0 {
		return
	}
	for _, s := range t.services {
		t.simulate(s, elapsed, now)
	}
}

// simulate draws the requests of one service. Load follows a slow daily-ish
// wave so that graphs are not flat.
func (t *Target) simulate(s service, elapsed float64, now time.Time) {
	wave := 1 + 0.3*math.Sin(float64(now.Unix())/600)
	n := int(s.rps*wave*elapsed + t.rng.Float64())
	for i := 0; i < n; i++ {
		route := routes[t.rng.IntN(len(routes))]
		method := "GET"
		if route == "/api/orders" && t.rng.IntN(3) == 0 {
			method = "POST"
		}
		code := "200"
		if t.rng.Float64() < s.errRatio {
			code = []string{"500", "503"}[t.rng.IntN(2)]
		}
		t.requests.WithLabelValues(s.name, route, method, code).Inc()
		// Log-normal latency around the median, with a heavier tail on errors.
		lat := s.medianLat * math.Exp(t.rng.NormFloat64()*0.6)
		if code != "200" {
			lat *= 3
		}
		obs := t.latency.WithLabelValues(s.name, route).(prometheus.ExemplarObserver)
		obs.ObserveWithExemplar(lat, prometheus.Labels{"trace_id": t.traceID()})
	}
	t.cpu.WithLabelValues(s.name).Add(elapsed * (0.05 + 0.002*s.rps*wave))
	t.memory.WithLabelValues(s.name).Set(s.memBase * (1 + 0.05*math.Sin(float64(now.Unix())/300)))
	t.inflight.WithLabelValues(s.name).Set(math.Round(s.rps * wave * s.medianLat * (1 + t.rng.Float64())))
}

func (t *Target) traceID() string {
	return fmt.Sprintf("%016x%016x", t.rng.Uint64(), t.rng.Uint64())
}

// String names the target for logs.
func (t *Target) String() string {
	return "demo target (" + strconv.Itoa(len(t.services)) + " services)"
}
