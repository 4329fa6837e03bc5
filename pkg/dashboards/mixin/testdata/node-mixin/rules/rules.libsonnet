{
  prometheusRules+:: {
    groups+: [
      {
        name: 'node-exporter.rules',
        rules: [
          {
            record: 'instance:node_num_cpu:sum',
            expr: 'count without (cpu, mode) (node_cpu_seconds_total{%(nodeExporterSelector)s,mode="idle"})' % $._config,
          },
          {
            record: 'instance:node_cpu_utilisation:rate%(rateInterval)s' % $._config,
            expr: '1 - avg without (cpu) (sum without (mode) (rate(node_cpu_seconds_total{%(nodeExporterSelector)s, mode=~"idle|iowait|steal"}[%(rateInterval)s])))' % $._config,
          },
        ],
      },
    ],
  },
}
