package rules

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// templatePrelude gives alert templates Prometheus's variables: $labels,
// $externalLabels, $externalURL and $value.
const templatePrelude = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}"

// templateData is what an alert's label and annotation templates see.
type templateData struct {
	Labels         map[string]string
	ExternalLabels map[string]string
	ExternalURL    string
	Value          float64
}

// templateFuncs are the functions of Prometheus's alert templates that do
// not query: formatting and string helpers.
var templateFuncs = template.FuncMap{
	"humanize":           humanize,
	"humanize1024":       humanize1024,
	"humanizeDuration":   humanizeDuration,
	"humanizePercentage": func(v float64) string { return humanize(v*100) + "%" },
	"humanizeTimestamp":  func(v float64) string { return timeFromSeconds(v).String() },
	"title":              strings.Title, //nolint:staticcheck // as Prometheus's templates
	"toUpper":            strings.ToUpper,
	"toLower":            strings.ToLower,
	"match":              regexp.MatchString,
	"reReplaceAll": func(pattern, repl, text string) string {
		return regexp.MustCompile(pattern).ReplaceAllString(text, repl)
	},
	"stripPort": func(hostPort string) string {
		if i := strings.LastIndex(hostPort, ":"); i > 0 && !strings.HasSuffix(hostPort, "]") {
			return hostPort[:i]
		}
		return strings.Trim(hostPort, "[]")
	},
}

// expand renders text with the alert's data. A template that fails renders
// as the error, as Prometheus does, so that a broken annotation is visible
// rather than silently empty.
func expand(name, text string, data templateData) string {
	t, err := template.New(name).Funcs(templateFuncs).Option("missingkey=zero").Parse(templatePrelude + text)
	if err != nil {
		return fmt.Sprintf("<error expanding template: %v>", err)
	}
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		return fmt.Sprintf("<error expanding template: %v>", err)
	}
	return b.String()
}

func newTemplateData(lset labels.Labels, external labels.Labels, externalURL string, v float64) templateData {
	return templateData{Labels: lset.Map(), ExternalLabels: external.Map(), ExternalURL: externalURL, Value: v}
}

// humanize formats with SI prefixes: 1234 -> 1.234k, 0.0012 -> 1.2m.
func humanize(v float64) string {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Sprintf("%.4g", v)
	}
	if math.Abs(v) >= 1 {
		prefix := ""
		for _, p := range []string{"k", "M", "G", "T", "P", "E", "Z", "Y"} {
			if math.Abs(v) < 1000 {
				break
			}
			prefix = p
			v /= 1000
		}
		return fmt.Sprintf("%.4g%s", v, prefix)
	}
	prefix := ""
	for _, p := range []string{"m", "u", "n", "p", "f", "a", "z", "y"} {
		if math.Abs(v) >= 1 {
			break
		}
		prefix = p
		v *= 1000
	}
	return fmt.Sprintf("%.4g%s", v, prefix)
}

// humanize1024 formats with binary prefixes: 2048 -> 2ki.
func humanize1024(v float64) string {
	if math.Abs(v) <= 1 || math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Sprintf("%.4g", v)
	}
	prefix := ""
	for _, p := range []string{"ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"} {
		if math.Abs(v) < 1024 {
			break
		}
		prefix = p
		v /= 1024
	}
	return fmt.Sprintf("%.4g%s", v, prefix)
}

// humanizeDuration formats seconds: 90061 -> 1d 1h 1m 1s, 0.25 -> 250ms.
func humanizeDuration(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Sprintf("%.4g", v)
	}
	if v == 0 {
		return "0s"
	}
	if math.Abs(v) < 1 {
		return humanize(v) + "s"
	}
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	secs := int64(v)
	days, hours, mins := secs/86400, secs/3600%24, secs/60%60
	s := float64(secs%60) + (v - math.Trunc(v))
	var parts []string
	for _, p := range []struct {
		n    int64
		unit string
	}{{days, "d"}, {hours, "h"}, {mins, "m"}} {
		if p.n > 0 || len(parts) > 0 {
			parts = append(parts, strconv.FormatInt(p.n, 10)+p.unit)
		}
	}
	parts = append(parts, strconv.FormatFloat(s, 'f', -1, 64)+"s")
	return sign + strings.Join(parts, " ")
}

func timeFromSeconds(v float64) time.Time {
	sec, frac := math.Modf(v)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC()
}
