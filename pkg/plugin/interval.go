package plugin

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/gtime"
)

// The step and interval rules below follow Grafana's Prometheus datasource,
// so that dashboards behave the same on Graft.

// safeResolution is the most points per series Prometheus returns.
const safeResolution = 11000

// defaultMaxDataPoints applies when a request names none.
const defaultMaxDataPoints = 1500

// calculateStep picks the query step: range / maxDataPoints rounded to a
// friendly interval, no finer than the min step (the query's interval, else
// the datasource's scrape interval, else the panel's interval), no finer than
// range / 11000, times the deprecated intervalFactor. With min step
// $__rate_interval, the step is the rate interval itself.
func calculateStep(m queryModel, dq backend.DataQuery, scrapeInterval string) (time.Duration, error) {
	queryInterval := m.Interval
	if isIntervalVariable(queryInterval) {
		queryInterval = ""
	}
	minInterval, err := gtime.GetIntervalFrom(scrapeInterval, queryInterval, dq.Interval.Milliseconds(), 15*time.Second)
	if err != nil {
		return 0, fmt.Errorf("invalid min step: %w", err)
	}
	span := dq.TimeRange.To.Sub(dq.TimeRange.From)
	maxPoints := dq.MaxDataPoints
	if maxPoints <= 0 {
		maxPoints = defaultMaxDataPoints
	}
	calculated := time.Duration(int64(span) / maxPoints)
	if calculated < minInterval {
		calculated = minInterval
	} else {
		calculated = gtime.RoundInterval(calculated)
	}
	safe := gtime.RoundInterval(time.Duration(int64(span) / safeResolution))
	step := max(calculated, safe)
	if step <= 0 {
		step = time.Millisecond
	}

	if m.Interval == "$__rate_interval" || m.Interval == "${__rate_interval}" {
		return rateInterval(step, scrapeInterval), nil
	}
	factor := m.IntervalFactor
	if factor <= 0 {
		factor = 1
	}
	return step * time.Duration(factor), nil
}

// rateInterval is $__rate_interval: at least four scrapes, and at least one
// interval plus one scrape, so that rate() always sees two samples.
func rateInterval(interval time.Duration, scrapeInterval string) time.Duration {
	if scrapeInterval == "" {
		scrapeInterval = "15s"
	}
	scrape, err := gtime.ParseIntervalStringToTimeDuration(scrapeInterval)
	if err != nil {
		return 0
	}
	return max(interval+scrape, 4*scrape)
}

func isIntervalVariable(s string) bool {
	switch s {
	case "$__interval", "${__interval}", "$__interval_ms", "${__interval_ms}",
		"$__rate_interval", "${__rate_interval}", "$__rate_interval_ms", "${__rate_interval_ms}":
		return true
	}
	return false
}

// interpolate replaces Grafana's built-in range and interval variables.
// Longer names go first so that $__interval does not eat $__interval_ms.
func interpolate(expr string, dq backend.DataQuery, step time.Duration, minStep, scrapeInterval string) string {
	span := dq.TimeRange.To.Sub(dq.TimeRange.From)
	rangeMs := span.Milliseconds()
	rangeS := (rangeMs + 500) / 1000

	var rate time.Duration
	switch minStep {
	case "$__rate_interval", "${__rate_interval}":
		rate = step
	default:
		base := minStep
		if base == "$__interval" || base == "${__interval}" {
			base = step.String()
		}
		if base == "" {
			base = scrapeInterval
		}
		rate = rateInterval(dq.Interval, base)
	}

	vars := []struct{ name, value string }{
		{"__interval_ms", strconv.FormatInt(step.Milliseconds(), 10)},
		{"__interval", gtime.FormatInterval(step)},
		{"__range_ms", strconv.FormatInt(rangeMs, 10)},
		{"__range_s", strconv.FormatInt(rangeS, 10)},
		{"__range", strconv.FormatInt(rangeS, 10) + "s"},
		{"__rate_interval_ms", strconv.FormatInt(rate.Milliseconds(), 10)},
		{"__rate_interval", rate.String()},
	}
	for _, v := range vars {
		expr = strings.ReplaceAll(expr, "${"+v.name+"}", v.value)
		expr = strings.ReplaceAll(expr, "$"+v.name, v.value)
	}
	return expr
}

// alignTime rounds t down to a multiple of step (shifted by the browser's
// UTC offset), so that consecutive refreshes hit the same step grid.
func alignTime(t time.Time, step time.Duration, offsetSec int64) time.Time {
	offset := offsetSec * int64(time.Second)
	ns := t.UnixNano() + offset
	aligned := ns - mod(ns, int64(step)) - offset
	return time.Unix(0, aligned).UTC()
}

func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}
