// Command custom-service generates dashboards and alerts for your own
// services with Graft's conventions, beside (or instead of) Graft's
// standard content:
//
//	go run ./examples/custom-service -out my-provisioning
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/graftlabs/graft/pkg/dashboards/monitoring"
)

func main() {
	out := flag.String("out", "custom-provisioning", "folder to write the provisioning files into")
	flag.Parse()

	opts := monitoring.DefaultOptions()
	opts.Folder = "Shop"

	// A service instrumented with the usual client-library names.
	shop := monitoring.Service{
		Name:     "shop",
		Title:    "Shop",
		Job:      "shop",
		Requests: "http_requests_total",
		Duration: "http_request_duration_seconds",
		CPU:      "process_cpu_seconds_total",
		Memory:   "process_resident_memory_bytes",
		// Its own SLO: tighter latency, looser errors than the defaults.
		SLO: monitoring.SLO{
			ErrorRatioWarning: 0.02, ErrorRatioCritical: 0.05,
			LatencyQuantile: 0.99, LatencyWarning: 300 * time.Millisecond, LatencyCritical: 800 * time.Millisecond,
			MinRequestRate: 1,
		},
	}

	b := monitoring.Standard(opts, []monitoring.Service{shop}, monitoring.DefaultNotificationEnv())

	// A dashboard of its own, in the same conventions.
	b.AddDashboard(monitoring.DashboardSpec{
		UID: "shop-checkout", Title: "Shop / Checkout funnel",
		Description: "Orders placed and abandoned carts.",
		Tags:        []string{"shop"},
		Rows: []monitoring.Row{{Title: "Funnel", Panels: []monitoring.Panel{{
			Title: "Orders", Unit: "ops", Width: 24,
			Description: "Orders placed per second, by payment method.",
			Queries: []monitoring.Query{{
				Expr:   `sum by (method) (rate(` + monitoring.Sel("shop_orders_total") + `[` + monitoring.RateInterval + `]))`,
				Legend: "{{method}}",
			}},
		}}}},
	}.Build())

	// And an alert of its own.
	b.AddRuleGroup("shop", monitoring.RuleGroup{Name: "shop-business", Alerts: []monitoring.Alert{{
		Name: "NoOrders", Severity: monitoring.Warning,
		Query: `sum by (job) (rate(shop_orders_total[15m]))`, Op: monitoring.Below, Threshold: 0.01, For: 30 * time.Minute,
		Summary:     "No orders on {{ $labels.job }}",
		Description: "The shop has taken almost no orders for 30 minutes.",
	}}})

	written, err := b.Write(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "custom-service:", err)
		os.Exit(1)
	}
	fmt.Printf("wrote %d files into %s\n", len(written), *out)
}
