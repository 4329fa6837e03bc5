// Package monitoring generates Graft's monitoring content as code: Grafana
// dashboards (through grafana-foundation-sdk builders), Prometheus recording
// and alerting rule files, and Grafana alerting provisioning. The standard
// content is Standard; a user's program describes its own services with
// Service and adds them to a Bundle with the same conventions.
package monitoring

import "time"

// DatasourceType is the plugin id of Graft's Grafana datasource.
const DatasourceType = "graftlabs-graft-datasource"

// DefaultDatasourceUID is the uid of the datasource that
// provisioning/datasources/graft.yaml provisions.
const DefaultDatasourceUID = "graft"

// Options are the choices shared by everything a Bundle emits.
type Options struct {
	// DatasourceUID is the Graft datasource that alert rules query and that
	// dashboards select by default.
	DatasourceUID string
	// Folder is the Grafana folder holding the dashboards and alert rules.
	Folder string
	// RuleInterval is the evaluation interval of rule groups.
	RuleInterval time.Duration
	// RuleWindow is the range of rate() in recording and alerting rules;
	// it must cover at least four scrape intervals.
	RuleWindow time.Duration
	// OrgID is the Grafana organisation of the alerting resources.
	OrgID int64
}

// DefaultOptions are the conventions of Graft's own provisioning: the
// datasource of provisioning/datasources, a 15s scrape interval, 1m rule
// evaluation and 5m rate windows.
func DefaultOptions() Options {
	return Options{
		DatasourceUID: DefaultDatasourceUID,
		Folder:        "Graft",
		RuleInterval:  time.Minute,
		RuleWindow:    5 * time.Minute,
		OrgID:         1,
	}
}

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.DatasourceUID == "" {
		o.DatasourceUID = d.DatasourceUID
	}
	if o.Folder == "" {
		o.Folder = d.Folder
	}
	if o.RuleInterval <= 0 {
		o.RuleInterval = d.RuleInterval
	}
	if o.RuleWindow <= 0 {
		o.RuleWindow = d.RuleWindow
	}
	if o.OrgID <= 0 {
		o.OrgID = d.OrgID
	}
	return o
}
