package api

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// The bounds Prometheus uses for absent start/end parameters.
var (
	minTime = time.Unix(math.MinInt64/1000+62135596801, 0).UTC()
	maxTime = time.Unix(math.MaxInt64/1000-62135596801, 999999999).UTC()
)

// parseTime accepts Unix seconds (with fractions) or RFC 3339, as Prometheus does.
func parseTime(s string) (time.Time, error) {
	if t, err := strconv.ParseFloat(s, 64); err == nil {
		sec, frac := math.Modf(t)
		return time.Unix(int64(sec), int64(math.Round(frac*1000))*int64(time.Millisecond)).UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("cannot parse %q to a valid timestamp", s)
}

// parseTimeParam returns the named form value as a time, or def when absent.
func parseTimeParam(r *http.Request, name string, def time.Time) (time.Time, error) {
	v := r.FormValue(name)
	if v == "" {
		return def, nil
	}
	t, err := parseTime(v)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid parameter %q: %w", name, err)
	}
	return t, nil
}

// parseDuration accepts seconds (with fractions) or a Prometheus duration.
func parseDuration(s string) (time.Duration, error) {
	if d, err := strconv.ParseFloat(s, 64); err == nil {
		ts := d * float64(time.Second)
		if ts > float64(math.MaxInt64) || ts < float64(math.MinInt64) {
			return 0, fmt.Errorf("cannot parse %q to a valid duration. It overflows int64", s)
		}
		return time.Duration(ts), nil
	}
	if d, err := model.ParseDuration(s); err == nil {
		return time.Duration(d), nil
	}
	return 0, fmt.Errorf("cannot parse %q to a valid duration", s)
}

// parseMatchers parses every match[] selector.
func parseMatchers(sets []string) ([][]*labels.Matcher, error) {
	p := parser.NewParser(parser.Options{})
	out := make([][]*labels.Matcher, 0, len(sets))
	for _, s := range sets {
		ms, err := p.ParseMetricSelector(s)
		if err != nil {
			return nil, err
		}
		if allMatchEmpty(ms) {
			return nil, errors.New("match[] must contain at least one non-empty matcher")
		}
		out = append(out, ms)
	}
	return out, nil
}

func allMatchEmpty(ms []*labels.Matcher) bool {
	for _, m := range ms {
		if !m.Matches("") {
			return false
		}
	}
	return true
}

// parseRange reads start and end, defaulting to all time.
func parseRange(r *http.Request) (time.Time, time.Time, error) {
	start, err := parseTimeParam(r, "start", minTime)
	if err != nil {
		return start, start, err
	}
	end, err := parseTimeParam(r, "end", maxTime)
	if err != nil {
		return start, end, err
	}
	if end.Before(start) {
		return start, end, errors.New("end timestamp must not be before start time")
	}
	return start, end, nil
}
