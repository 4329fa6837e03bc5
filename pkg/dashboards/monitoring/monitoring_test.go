package monitoring

import (
	"strings"
	"testing"
	"time"
)

func TestAlertExpr(t *testing.T) {
	for q, want := range map[string]string{
		"up":           "up < 1",
		"a / b":        "(a / b) < 1",
		"sum(a) by(x)": "sum(a) by(x) < 1",
	} {
		if got := (Alert{Query: q, Op: Below, Threshold: 1}).Expr(); got != want {
			t.Errorf("%q: got %q, want %q", q, got, want)
		}
	}
}

func TestServiceValidation(t *testing.T) {
	good := DemoService()
	for name, mutate := range map[string]func(*Service){
		"name":      func(s *Service) { s.Name = "Bad Name" },
		"requests":  func(s *Service) { s.Requests = "" },
		"threshold": func(s *Service) { s.SLO = DefaultSLO(); s.SLO.ErrorRatioWarning = 0.5 },
		"quantile":  func(s *Service) { s.SLO = DefaultSLO(); s.SLO.LatencyQuantile = 1.5 },
	} {
		s := good
		mutate(&s)
		b := NewBundle(DefaultOptions())
		b.AddService(s)
		if _, err := b.Files(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestNotificationsFile(t *testing.T) {
	n, err := DefaultNotifications(DefaultNotificationEnv())
	if err != nil {
		t.Fatal(err)
	}
	f, err := n.file(1)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.ContactPoints) != 2 || f.ContactPoints[0].Receivers[0].Type != "pagerduty" ||
		f.ContactPoints[0].Receivers[0].Settings["integrationKey"] != "${GRAFT_PAGERDUTY_INTEGRATION_KEY}" {
		t.Errorf("contact points: %+v", f.ContactPoints)
	}
	mt := f.MuteTimes[0].TimeIntervals[0]
	if mt.Times[0] != (FileTime{StartTime: "02:00", EndTime: "04:00"}) || mt.Weekdays[0] != "sunday" || mt.Location != "UTC" {
		t.Errorf("mute time: %+v", mt)
	}
	routes := f.Policies[0].Routes
	if routes[0].Receiver != PagerContactPoint || routes[0].ObjectMatchers[0][2] != "critical" ||
		routes[1].Receiver != ChatContactPoint || routes[1].ObjectMatchers[0][2] != "warning" {
		t.Errorf("routes: %+v", routes)
	}
}

func TestClockEnd(t *testing.T) {
	from := time.Date(2000, 1, 1, 22, 0, 0, 0, time.UTC)
	if got := clockEnd(from, time.Date(2000, 1, 2, 0, 0, 0, 0, time.UTC)); got != "24:00" {
		t.Errorf("midnight end = %s", got)
	}
}

func TestGrafanaAnnotations(t *testing.T) {
	got := grafanaAnnotations(map[string]string{"d": "{{ $value | humanize }} and {{ $values }}"})["d"]
	if !strings.Contains(got, "$values.B.Value | humanize") || !strings.Contains(got, "{{ $values }}") {
		t.Errorf("got %q", got)
	}
}
