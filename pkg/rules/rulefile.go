package rules

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/template"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"
)

// fileSpec is a Prometheus rule file.
type fileSpec struct {
	Groups []groupSpec `yaml:"groups"`
}

// groupSpec is a rule group as written in a rule file.
type groupSpec struct {
	Name        string            `yaml:"name"`
	Interval    model.Duration    `yaml:"interval,omitempty"`
	QueryOffset *model.Duration   `yaml:"query_offset,omitempty"`
	Limit       int               `yaml:"limit,omitempty"`
	Labels      map[string]string `yaml:"labels,omitempty"`
	Rules       []ruleSpec        `yaml:"rules"`
}

// ruleSpec is one recording or alerting rule as written.
type ruleSpec struct {
	Record        string            `yaml:"record,omitempty"`
	Alert         string            `yaml:"alert,omitempty"`
	Expr          string            `yaml:"expr"`
	For           model.Duration    `yaml:"for,omitempty"`
	KeepFiringFor model.Duration    `yaml:"keep_firing_for,omitempty"`
	Labels        map[string]string `yaml:"labels,omitempty"`
	Annotations   map[string]string `yaml:"annotations,omitempty"`
}

// loadFiles reads every file matching the patterns (globs, as rule_files
// takes them) and validates it. Any error refuses the whole set, so that a
// reload never half-applies.
func loadFiles(patterns []string) ([]*Group, error) {
	var groups []*Group
	seen := map[string]string{} // group key -> file, to refuse duplicates
	for _, pat := range patterns {
		files, err := filepath.Glob(pat)
		if err != nil {
			return nil, fmt.Errorf("rule_files pattern %q: %w", pat, err)
		}
		for _, f := range files {
			gs, err := loadFile(f)
			if err != nil {
				return nil, err
			}
			for _, g := range gs {
				key := f + "\x00" + g.Name
				if _, dup := seen[key]; dup {
					return nil, fmt.Errorf("%s: group %q defined twice", f, g.Name)
				}
				seen[key] = f
				groups = append(groups, g)
			}
		}
	}
	return groups, nil
}

func loadFile(path string) ([]*Group, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read rule file: %w", err)
	}
	var spec fileSpec
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&spec); err != nil && !errors.Is(err, io.EOF) { // empty file: no groups
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	names := map[string]bool{}
	var groups []*Group
	for _, gs := range spec.Groups {
		if names[gs.Name] {
			return nil, fmt.Errorf("%s: group name %q repeated", path, gs.Name)
		}
		names[gs.Name] = true
		g, err := newGroup(path, gs)
		if err != nil {
			return nil, fmt.Errorf("%s: group %q: %w", path, gs.Name, err)
		}
		groups = append(groups, g)
	}
	return groups, nil
}

func newGroup(file string, gs groupSpec) (*Group, error) {
	if gs.Name == "" {
		return nil, errors.New("group name must not be empty")
	}
	if gs.Limit < 0 {
		return nil, errors.New("limit must not be negative")
	}
	if err := checkLabels(gs.Labels); err != nil {
		return nil, err
	}
	g := &Group{Name: gs.Name, File: file, Interval: time.Duration(gs.Interval), Limit: gs.Limit, labels: gs.Labels}
	if gs.QueryOffset != nil {
		g.QueryOffset = time.Duration(*gs.QueryOffset)
	}
	p := parser.NewParser(parser.Options{})
	for i, rs := range gs.Rules {
		r, err := newRule(p, rs)
		if err != nil {
			return nil, fmt.Errorf("rule %d (%s): %w", i+1, rs.Record+rs.Alert, err)
		}
		g.Rules = append(g.Rules, r)
	}
	return g, nil
}

func newRule(p parser.Parser, rs ruleSpec) (*Rule, error) {
	switch {
	case rs.Record != "" && rs.Alert != "":
		return nil, errors.New("only one of 'record' and 'alert' must be set")
	case rs.Record == "" && rs.Alert == "":
		return nil, errors.New("one of 'record' or 'alert' must be set")
	case rs.Expr == "":
		return nil, errors.New("field 'expr' must be set in rule")
	}
	expr, err := p.ParseExpr(rs.Expr)
	if err != nil {
		return nil, fmt.Errorf("could not parse expression: %w", err)
	}
	if t := expr.Type(); t != parser.ValueTypeVector && t != parser.ValueTypeScalar {
		return nil, fmt.Errorf("expression must evaluate to a vector or scalar, got %s", t)
	}
	if err := checkLabels(rs.Labels); err != nil {
		return nil, err
	}
	r := &Rule{Expr: rs.Expr, Labels: rs.Labels, Annotations: rs.Annotations}
	if rs.Record != "" {
		return r.asRecording(rs)
	}
	return r.asAlerting(rs)
}

func (r *Rule) asRecording(rs ruleSpec) (*Rule, error) {
	if !model.UTF8Validation.IsValidMetricName(rs.Record) {
		return nil, fmt.Errorf("invalid recording rule name: %s", rs.Record)
	}
	if rs.For != 0 || rs.KeepFiringFor != 0 || len(rs.Annotations) > 0 {
		return nil, errors.New("invalid field 'for', 'keep_firing_for' or 'annotations' in recording rule")
	}
	r.Name, r.Kind = rs.Record, KindRecording
	return r, nil
}

func (r *Rule) asAlerting(rs ruleSpec) (*Rule, error) {
	if !model.LabelValue(rs.Alert).IsValid() {
		return nil, fmt.Errorf("invalid alert name: %s", rs.Alert)
	}
	r.Name, r.Kind = rs.Alert, KindAlerting
	r.For, r.KeepFiringFor = time.Duration(rs.For), time.Duration(rs.KeepFiringFor)
	for _, set := range []map[string]string{rs.Labels, rs.Annotations} {
		for k, v := range set {
			if _, err := template.New(k).Funcs(templateFuncs).Parse(templatePrelude + v); err != nil {
				return nil, fmt.Errorf("template of %q: %w", k, err)
			}
		}
	}
	return r, nil
}

func checkLabels(ls map[string]string) error {
	for k := range ls {
		if k == model.MetricNameLabel {
			return fmt.Errorf("invalid label name: %s", k)
		}
		if !model.UTF8Validation.IsValidLabelName(k) {
			return fmt.Errorf("invalid label name: %s", k)
		}
	}
	return nil
}
