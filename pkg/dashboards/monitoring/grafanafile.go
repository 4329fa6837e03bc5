package monitoring

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/grafana/grafana-foundation-sdk/go/alerting"
)

// Grafana's alerting file-provisioning format (apiVersion 1). The SDK builds
// the HTTP API's shapes, which differ: a rule names its folder by uid and its
// group by title, a group's interval is seconds, a contact point is one
// integration, and mute timings hold structured times. These types are the
// file's shapes, and the functions below convert.

// AlertingFile is one provisioning file of Grafana's alerting.
type AlertingFile struct {
	APIVersion    int                `yaml:"apiVersion"`
	Groups        []FileRuleGroup    `yaml:"groups,omitempty"`
	ContactPoints []FileContactPoint `yaml:"contactPoints,omitempty"`
	Policies      []FilePolicy       `yaml:"policies,omitempty"`
	Templates     []FileTemplate     `yaml:"templates,omitempty"`
	MuteTimes     []FileMuteTime     `yaml:"muteTimes,omitempty"`
}

// FileRuleGroup is a rule group: its folder by title, its interval as a duration.
type FileRuleGroup struct {
	OrgID    int64      `yaml:"orgId"`
	Name     string     `yaml:"name"`
	Folder   string     `yaml:"folder"`
	Interval string     `yaml:"interval"`
	Rules    []FileRule `yaml:"rules"`
}

// FileRule is an alert rule; uid is required in files.
type FileRule struct {
	UID          string            `yaml:"uid"`
	Title        string            `yaml:"title"`
	Condition    string            `yaml:"condition"`
	Data         []FileQuery       `yaml:"data"`
	DashboardUID string            `yaml:"dashboardUid,omitempty"`
	PanelID      int64             `yaml:"panelId,omitempty"`
	NoDataState  string            `yaml:"noDataState"`
	ExecErrState string            `yaml:"execErrState"`
	For          string            `yaml:"for"`
	Annotations  map[string]string `yaml:"annotations,omitempty"`
	Labels       map[string]string `yaml:"labels,omitempty"`
	IsPaused     bool              `yaml:"isPaused"`
}

// FileQuery is one step of a rule; the model is the datasource's query or
// the server-side expression.
type FileQuery struct {
	RefID             string            `yaml:"refId"`
	QueryType         string            `yaml:"queryType,omitempty"`
	RelativeTimeRange FileRelativeRange `yaml:"relativeTimeRange"`
	DatasourceUID     string            `yaml:"datasourceUid"`
	Model             map[string]any    `yaml:"model"`
}

// FileRelativeRange is seconds before the evaluation time.
type FileRelativeRange struct {
	From int64 `yaml:"from"`
	To   int64 `yaml:"to"`
}

// FileContactPoint groups the integrations (receivers) of one name.
type FileContactPoint struct {
	OrgID     int64          `yaml:"orgId"`
	Name      string         `yaml:"name"`
	Receivers []FileReceiver `yaml:"receivers"`
}

// FileReceiver is one integration of a contact point.
type FileReceiver struct {
	UID                   string         `yaml:"uid"`
	Type                  string         `yaml:"type"`
	Settings              map[string]any `yaml:"settings"`
	DisableResolveMessage bool           `yaml:"disableResolveMessage"`
}

// FilePolicy is a notification policy tree; the root one has an orgId.
type FilePolicy struct {
	OrgID             int64        `yaml:"orgId,omitempty"`
	Receiver          string       `yaml:"receiver,omitempty"`
	GroupBy           []string     `yaml:"group_by,omitempty"`
	ObjectMatchers    [][]string   `yaml:"object_matchers,omitempty"`
	MuteTimeIntervals []string     `yaml:"mute_time_intervals,omitempty"`
	Continue          bool         `yaml:"continue,omitempty"`
	GroupWait         string       `yaml:"group_wait,omitempty"`
	GroupInterval     string       `yaml:"group_interval,omitempty"`
	RepeatInterval    string       `yaml:"repeat_interval,omitempty"`
	Routes            []FilePolicy `yaml:"routes,omitempty"`
}

// FileTemplate is a notification template.
type FileTemplate struct {
	OrgID    int64  `yaml:"orgId"`
	Name     string `yaml:"name"`
	Template string `yaml:"template"`
}

// FileMuteTime is a named set of time intervals.
type FileMuteTime struct {
	OrgID         int64              `yaml:"orgId"`
	Name          string             `yaml:"name"`
	TimeIntervals []FileTimeInterval `yaml:"time_intervals"`
}

// FileTimeInterval uses Alertmanager's strings: 'HH:MM' times and
// 'monday:friday' ranges.
type FileTimeInterval struct {
	Times       []FileTime `yaml:"times,omitempty"`
	Weekdays    []string   `yaml:"weekdays,omitempty"`
	DaysOfMonth []string   `yaml:"days_of_month,omitempty"`
	Months      []string   `yaml:"months,omitempty"`
	Years       []string   `yaml:"years,omitempty"`
	Location    string     `yaml:"location,omitempty"`
}

// FileTime is a time of day range.
type FileTime struct {
	StartTime string `yaml:"start_time"`
	EndTime   string `yaml:"end_time"`
}

// fileRuleGroup converts an API rule group: the folder is named by title
// and the interval written as a duration.
func fileRuleGroup(g alerting.RuleGroup, folder string, orgID int64) (FileRuleGroup, error) {
	if g.Title == nil || *g.Title == "" {
		return FileRuleGroup{}, fmt.Errorf("rule group without a title")
	}
	if g.Interval == nil || *g.Interval <= 0 {
		return FileRuleGroup{}, fmt.Errorf("rule group %s: no interval", *g.Title)
	}
	out := FileRuleGroup{
		OrgID: orgID, Name: *g.Title, Folder: folder,
		Interval: promDuration(time.Duration(*g.Interval) * time.Second),
	}
	for _, r := range g.Rules {
		fr, err := fileRule(r)
		if err != nil {
			return FileRuleGroup{}, fmt.Errorf("rule group %s: %w", *g.Title, err)
		}
		out.Rules = append(out.Rules, fr)
	}
	return out, nil
}

func fileRule(r alerting.Rule) (FileRule, error) {
	if r.Uid == nil || *r.Uid == "" {
		return FileRule{}, fmt.Errorf("rule %q: a uid is required in provisioning files", r.Title)
	}
	out := FileRule{
		UID: *r.Uid, Title: r.Title, Condition: r.Condition,
		NoDataState: string(r.NoDataState), ExecErrState: string(r.ExecErrState),
		For: r.For, Annotations: r.Annotations, Labels: r.Labels,
	}
	if r.IsPaused != nil {
		out.IsPaused = *r.IsPaused
	}
	for _, q := range r.Data {
		fq, err := fileQuery(q)
		if err != nil {
			return FileRule{}, fmt.Errorf("rule %q: %w", r.Title, err)
		}
		out.Data = append(out.Data, fq)
	}
	return out, nil
}

func fileQuery(q alerting.Query) (FileQuery, error) {
	out := FileQuery{}
	if q.RefId != nil {
		out.RefID = *q.RefId
	}
	if q.DatasourceUid != nil {
		out.DatasourceUID = *q.DatasourceUid
	}
	if q.QueryType != nil {
		out.QueryType = *q.QueryType
	}
	if rt := q.RelativeTimeRange; rt != nil {
		if rt.From != nil {
			out.RelativeTimeRange.From = int64(*rt.From)
		}
		if rt.To != nil {
			out.RelativeTimeRange.To = int64(*rt.To)
		}
	}
	// The model goes through JSON so it keeps the datasource's field names.
	raw, err := json.Marshal(q.Model)
	if err != nil {
		return FileQuery{}, fmt.Errorf("query %s: encode model: %w", out.RefID, err)
	}
	if err := json.Unmarshal(raw, &out.Model); err != nil {
		return FileQuery{}, fmt.Errorf("query %s: decode model: %w", out.RefID, err)
	}
	return out, nil
}

// fileContactPoints groups the API's one-integration contact points by name,
// in order of first appearance.
func fileContactPoints(cps []alerting.ContactPoint, orgID int64) ([]FileContactPoint, error) {
	var out []FileContactPoint
	index := map[string]int{}
	for _, cp := range cps {
		if cp.Name == nil || *cp.Name == "" || cp.Uid == nil || *cp.Uid == "" {
			return nil, fmt.Errorf("contact point of type %s: name and uid are required", cp.Type)
		}
		settings, ok := cp.Settings.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("contact point %s: settings must be a map, not %T", *cp.Name, cp.Settings)
		}
		rcv := FileReceiver{UID: *cp.Uid, Type: string(cp.Type), Settings: settings}
		if cp.DisableResolveMessage != nil {
			rcv.DisableResolveMessage = *cp.DisableResolveMessage
		}
		i, seen := index[*cp.Name]
		if !seen {
			i = len(out)
			index[*cp.Name] = i
			out = append(out, FileContactPoint{OrgID: orgID, Name: *cp.Name})
		}
		out[i].Receivers = append(out[i].Receivers, rcv)
	}
	return out, nil
}

// filePolicy converts a policy tree; only the root carries the orgId.
func filePolicy(p alerting.NotificationPolicy, orgID int64) FilePolicy {
	out := FilePolicy{
		OrgID: orgID, GroupBy: p.GroupBy, MuteTimeIntervals: p.MuteTimeIntervals,
		GroupWait: deref(p.GroupWait), GroupInterval: deref(p.GroupInterval), RepeatInterval: deref(p.RepeatInterval),
		Receiver: deref(p.Receiver),
	}
	if p.Continue != nil {
		out.Continue = *p.Continue
	}
	if p.ObjectMatchers != nil {
		for _, m := range *p.ObjectMatchers {
			out.ObjectMatchers = append(out.ObjectMatchers, []string(m))
		}
	}
	for _, r := range p.Routes {
		out.Routes = append(out.Routes, filePolicy(r, 0))
	}
	return out
}

func fileTemplate(t alerting.NotificationTemplate, orgID int64) (FileTemplate, error) {
	if t.Name == nil || t.Template == nil {
		return FileTemplate{}, fmt.Errorf("notification template: name and template are required")
	}
	return FileTemplate{OrgID: orgID, Name: *t.Name, Template: *t.Template}, nil
}

var weekdays = []string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}

// fileMuteTime writes the SDK's structured intervals as Alertmanager's
// strings. Times of day are taken in the interval's location.
func fileMuteTime(m alerting.MuteTiming, orgID int64) (FileMuteTime, error) {
	if m.Name == nil || *m.Name == "" {
		return FileMuteTime{}, fmt.Errorf("mute timing without a name")
	}
	out := FileMuteTime{OrgID: orgID, Name: *m.Name}
	for _, ti := range m.TimeIntervals {
		fi := FileTimeInterval{}
		if ti.Location != nil {
			fi.Location = string(*ti.Location)
		}
		for _, t := range ti.Times {
			if t.From == nil || t.To == nil {
				return FileMuteTime{}, fmt.Errorf("mute timing %s: a time range needs both ends", *m.Name)
			}
			fi.Times = append(fi.Times, FileTime{StartTime: t.From.Format("15:04"), EndTime: clockEnd(*t.From, *t.To)})
		}
		for _, w := range ti.Weekdays {
			r, err := rangeString(w.Begin, w.End, func(i int32) (string, error) {
				if i < 0 || int(i) >= len(weekdays) {
					return "", fmt.Errorf("weekday %d is not within 0 (sunday) to 6", i)
				}
				return weekdays[i], nil
			})
			if err != nil {
				return FileMuteTime{}, fmt.Errorf("mute timing %s: %w", *m.Name, err)
			}
			fi.Weekdays = append(fi.Weekdays, r)
		}
		num := func(i int32) (string, error) { return fmt.Sprint(i), nil }
		for _, d := range ti.DaysOfMonth {
			r, _ := rangeString(d.Begin, d.End, num)
			fi.DaysOfMonth = append(fi.DaysOfMonth, r)
		}
		for _, mo := range ti.Months {
			r, _ := rangeString(mo.Begin, mo.End, num)
			fi.Months = append(fi.Months, r)
		}
		for _, y := range ti.Years {
			r, _ := rangeString(y.Begin, y.End, num)
			fi.Years = append(fi.Years, r)
		}
		out.TimeIntervals = append(out.TimeIntervals, fi)
	}
	return out, nil
}

// clockEnd writes the end of a time range; midnight at the end of the day
// is Alertmanager's 24:00.
func clockEnd(from, to time.Time) string {
	if to.Hour() == 0 && to.Minute() == 0 && to.After(from) {
		return "24:00"
	}
	return to.Format("15:04")
}

func rangeString(begin, end *int32, name func(int32) (string, error)) (string, error) {
	if begin == nil {
		return "", fmt.Errorf("range without a beginning")
	}
	b, err := name(*begin)
	if err != nil {
		return "", err
	}
	if end == nil || *end == *begin {
		return b, nil
	}
	e, err := name(*end)
	if err != nil {
		return "", err
	}
	return b + ":" + e, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
