// A small mixin shaped like the node-exporter mixin: _config, then
// prometheusAlerts, prometheusRules and grafanaDashboards mixed in.
(import 'config.libsonnet') +
(import 'alerts/alerts.libsonnet') +
(import 'rules/rules.libsonnet') +
(import 'dashboards/node.libsonnet')
