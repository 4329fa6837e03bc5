package config

// The service discovery mechanisms graft.yml accepts besides static_configs.
// Each registers its config section with Prometheus's config parser; the
// scrape manager runs them through Prometheus's discovery manager.
import (
	_ "github.com/prometheus/prometheus/discovery/consul"     // consul_sd_configs
	_ "github.com/prometheus/prometheus/discovery/dns"        // dns_sd_configs
	_ "github.com/prometheus/prometheus/discovery/file"       // file_sd_configs
	_ "github.com/prometheus/prometheus/discovery/http"       // http_sd_configs
	_ "github.com/prometheus/prometheus/discovery/kubernetes" // kubernetes_sd_configs
)
