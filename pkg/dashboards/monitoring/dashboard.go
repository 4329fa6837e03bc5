package monitoring

import (
	"encoding/json"
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// Variable is a query variable beyond the standard datasource, job and
// instance ones (for example a service label). Query is a Graft variable
// query such as `label_values(http_requests_total{job=~"$job"}, service)`.
type Variable struct {
	Name, Label, Query string
}

// Row is a titled group of panels.
type Row struct {
	Title  string
	Panels []Panel
}

// DashboardSpec is a dashboard in Graft's conventions: a datasource
// variable, multi-value job and instance variables (.+ as the All value,
// refreshed on time change), every panel on the datasource variable with a
// unit and a description, and stable uid and panel ids.
type DashboardSpec struct {
	UID, Title, Description string
	Tags                    []string
	// JobQuery and InstanceQuery list the values of the job and instance
	// variables; the defaults read them from `up`.
	JobQuery, InstanceQuery string
	Variables               []Variable
	Rows                    []Row
	// Links to other dashboards, by tag.
	LinkTags []string
}

// Dashboard is a generated dashboard, ready to be written as JSON.
type Dashboard struct {
	UID   string
	Model dashboard.Dashboard
}

// JSON is the dashboard's file content: indented, with the keys of maps
// sorted, so the same dashboard always gives the same bytes.
func (d Dashboard) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(d.Model, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode dashboard %s: %w", d.UID, err)
	}
	return append(b, '\n'), nil
}

// builtPanel hands an already built panel to the dashboard builder, which
// only lays it out.
type builtPanel dashboard.Panel

func (p builtPanel) Build() (dashboard.Panel, error) { return dashboard.Panel(p), nil }

// Build turns the spec into the SDK's dashboard model.
func (s DashboardSpec) Build() (Dashboard, error) {
	if s.UID == "" || s.Title == "" {
		return Dashboard{}, fmt.Errorf("dashboard %q: uid and title are required", s.Title)
	}
	if len(s.UID) > 40 {
		return Dashboard{}, fmt.Errorf("dashboard %q: uid %q is longer than Grafana's 40 characters", s.Title, s.UID)
	}
	b := dashboard.NewDashboardBuilder(s.Title).
		Uid(s.UID).
		Description(s.Description).
		Tags(s.Tags).
		Editable().
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Refresh("30s").
		Time("now-1h", "now").
		Timezone("browser").
		Timepicker(dashboard.NewTimePickerBuilder().RefreshIntervals([]string{"30s", "1m", "5m", "15m", "1h"})).
		Variables(s.variables())
	if len(s.LinkTags) > 0 {
		b = b.Link(dashboard.NewDashboardLinkBuilder("Graft").Type(dashboard.DashboardLinkTypeDashboards).
			Tags(s.LinkTags).AsDropdown(true).IncludeVars(true).KeepTime(true))
	}
	// Ids in order of appearance: stable as long as the spec is.
	var id uint32
	for _, row := range s.Rows {
		id++
		b = b.WithRow(dashboard.NewRowBuilder(row.Title).Id(id))
		for _, p := range row.Panels {
			id++
			panel, err := p.build(id)
			if err != nil {
				return Dashboard{}, fmt.Errorf("dashboard %s: %w", s.UID, err)
			}
			b = b.WithPanel(builtPanel(panel))
		}
	}
	model, err := b.Build()
	if err != nil {
		return Dashboard{}, fmt.Errorf("dashboard %s: %w", s.UID, err)
	}
	return Dashboard{UID: s.UID, Model: model}, nil
}

func (s DashboardSpec) variables() []cog.Builder[dashboard.VariableModel] {
	jobQ := s.JobQuery
	if jobQ == "" {
		jobQ = "label_values(up, job)"
	}
	instQ := s.InstanceQuery
	if instQ == "" {
		instQ = `label_values(up{job=~"$job"}, instance)`
	}
	vars := []cog.Builder[dashboard.VariableModel]{
		dashboard.NewDatasourceVariableBuilder(VarDatasource).
			Label("Data source").
			Type(DatasourceType).
			Regex("").
			Current(dashboard.VariableOption{Text: dashboard.StringOrArrayOfString{String: Ptr("default")},
				Value: dashboard.StringOrArrayOfString{String: Ptr("default")}}),
		queryVariable(VarJob, "Job", jobQ),
		queryVariable(VarInstance, "Instance", instQ),
	}
	for _, v := range s.Variables {
		vars = append(vars, queryVariable(v.Name, v.Label, v.Query))
	}
	return vars
}

func queryVariable(name, label, query string) *dashboard.QueryVariableBuilder {
	return dashboard.NewQueryVariableBuilder(name).
		Label(label).
		Query(dashboard.StringOrMap{String: Ptr(query)}).
		Definition(query).
		Datasource(datasourceRef()).
		Multi(true).
		IncludeAll(true).
		AllValue(".+").
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Sort(dashboard.VariableSortAlphabeticalAsc).
		Current(dashboard.VariableOption{
			Text:  dashboard.StringOrArrayOfString{ArrayOfString: []string{"All"}},
			Value: dashboard.StringOrArrayOfString{ArrayOfString: []string{"$__all"}},
		})
}

var _ = common.DataSourceRef{}
