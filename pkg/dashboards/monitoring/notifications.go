package monitoring

import (
	"time"

	"github.com/grafana/grafana-foundation-sdk/go/alerting"
	"github.com/grafana/grafana-foundation-sdk/go/cog"
)

// Notifications is where alerts go: contact points, the policy tree that
// routes to them, message templates and mute timings, in the SDK's types.
type Notifications struct {
	ContactPoints []alerting.ContactPoint
	Policy        alerting.NotificationPolicy
	Templates     []alerting.NotificationTemplate
	MuteTimings   []alerting.MuteTiming
}

// NotificationEnv names the environment variables Grafana fills the
// endpoints from when it loads the provisioning files, so no secret is ever
// written into them.
type NotificationEnv struct {
	PagerDutyKey    string // the PagerDuty integration (routing) key
	SlackWebhookURL string // a Slack incoming webhook
}

// DefaultNotificationEnv: GRAFT_PAGERDUTY_INTEGRATION_KEY and GRAFT_SLACK_WEBHOOK_URL.
func DefaultNotificationEnv() NotificationEnv {
	return NotificationEnv{PagerDutyKey: "GRAFT_PAGERDUTY_INTEGRATION_KEY", SlackWebhookURL: "GRAFT_SLACK_WEBHOOK_URL"}
}

// Contact point names of the default routing.
const (
	PagerContactPoint = "graft-pager"
	ChatContactPoint  = "graft-chat"
	MaintenanceWindow = "graft-maintenance-window"
)

// messageTemplate lists the alerts of a notification with their summary
// and description. It uses only dot references: Grafana expands $ in
// provisioning files.
const messageTemplate = `{{ define "graft.title" }}[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] {{ .CommonLabels.alertname }}{{ end }}
{{ define "graft.message" }}{{ range .Alerts }}{{ .Labels.severity | toUpper }}: {{ .Annotations.summary }}
{{ .Annotations.description }}
{{ if .Annotations.runbook_url }}Runbook: {{ .Annotations.runbook_url }}
{{ end }}{{ end }}{{ end }}`

// DefaultNotifications pages for critical alerts (PagerDuty) and posts
// warnings to chat (Slack), muting warnings during the weekly maintenance
// window (Sunday 02:00-04:00 UTC). Alerts are grouped per alert name, job
// and service so one incident is one notification.
func DefaultNotifications(env NotificationEnv) (Notifications, error) {
	pager, err := alerting.NewContactPointBuilder().Name(PagerContactPoint).Uid("graft-pager-pagerduty").
		Type(alerting.ContactPointTypePagerduty).
		Settings(map[string]any{
			"integrationKey": "${" + env.PagerDutyKey + "}",
			"severity":       "critical",
			"summary":        `{{ template "graft.title" . }}`,
			"details":        map[string]any{"alerts": `{{ template "graft.message" . }}`},
		}).Build()
	if err != nil {
		return Notifications{}, err
	}
	chat, err := alerting.NewContactPointBuilder().Name(ChatContactPoint).Uid("graft-chat-slack").
		Type(alerting.ContactPointTypeSlack).
		Settings(map[string]any{
			"url":   "${" + env.SlackWebhookURL + "}",
			"title": `{{ template "graft.title" . }}`,
			"text":  `{{ template "graft.message" . }}`,
		}).Build()
	if err != nil {
		return Notifications{}, err
	}
	route := func(sev Severity, receiver, repeat string) cog.Builder[alerting.NotificationPolicy] {
		b := alerting.NewNotificationPolicyBuilder().Receiver(receiver).
			ObjectMatchers(alerting.ObjectMatchers{{"severity", "=", string(sev)}}).
			RepeatInterval(repeat)
		if sev == Warning {
			b = b.MuteTimeIntervals([]string{MaintenanceWindow})
		}
		return b
	}
	policy, err := alerting.NewNotificationPolicyBuilder().Receiver(ChatContactPoint).
		GroupBy([]string{"grafana_folder", "alertname", "job", "service"}).
		GroupWait("30s").GroupInterval("5m").RepeatInterval("12h").
		Routes([]cog.Builder[alerting.NotificationPolicy]{
			route(Critical, PagerContactPoint, "1h"),
			route(Warning, ChatContactPoint, "12h"),
		}).Build()
	if err != nil {
		return Notifications{}, err
	}
	tmpl, err := alerting.NewNotificationTemplateBuilder().Name("graft").Template(messageTemplate).Build()
	if err != nil {
		return Notifications{}, err
	}
	utc := alerting.Location("UTC")
	mute, err := alerting.NewMuteTimingBuilder().Name(MaintenanceWindow).
		TimeIntervals([]cog.Builder[alerting.TimeInterval]{alerting.NewTimeIntervalBuilder().
			Times([]cog.Builder[alerting.TimeRange]{alerting.NewTimeRangeBuilder().
				From(time.Date(2000, 1, 1, 2, 0, 0, 0, time.UTC)).To(time.Date(2000, 1, 1, 4, 0, 0, 0, time.UTC))}).
			Weekdays([]cog.Builder[alerting.WeekdayRange]{alerting.NewWeekdayRangeBuilder().Begin(0).End(0)}).
			Location(utc)}).Build()
	if err != nil {
		return Notifications{}, err
	}
	return Notifications{
		ContactPoints: []alerting.ContactPoint{pager, chat},
		Policy:        policy,
		Templates:     []alerting.NotificationTemplate{tmpl},
		MuteTimings:   []alerting.MuteTiming{mute},
	}, nil
}

// file converts the notifications to one provisioning file.
func (n Notifications) file(orgID int64) (AlertingFile, error) {
	f := AlertingFile{APIVersion: 1}
	cps, err := fileContactPoints(n.ContactPoints, orgID)
	if err != nil {
		return f, err
	}
	f.ContactPoints = cps
	f.Policies = []FilePolicy{filePolicy(n.Policy, orgID)}
	for _, t := range n.Templates {
		ft, err := fileTemplate(t, orgID)
		if err != nil {
			return f, err
		}
		f.Templates = append(f.Templates, ft)
	}
	for _, m := range n.MuteTimings {
		fm, err := fileMuteTime(m, orgID)
		if err != nil {
			return f, err
		}
		f.MuteTimes = append(f.MuteTimes, fm)
	}
	return f, nil
}
