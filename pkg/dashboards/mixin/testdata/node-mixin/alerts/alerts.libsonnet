{
  prometheusAlerts+:: {
    groups+: [
      {
        name: 'node-exporter',
        rules: [
          {
            alert: 'NodeFilesystemAlmostOutOfSpace',
            expr: |||
              (
                node_filesystem_avail_bytes{%(nodeExporterSelector)s,fstype!=""} / node_filesystem_size_bytes{%(nodeExporterSelector)s,fstype!=""} * 100 < %(fsSpaceFillingUpCriticalThreshold)d
              and
                node_filesystem_readonly{%(nodeExporterSelector)s,fstype!=""} == 0
              )
            ||| % $._config,
            'for': '30m',
            labels: { severity: 'critical' },
            annotations: {
              summary: 'Filesystem has less than %(fsSpaceFillingUpCriticalThreshold)d%% space left.' % $._config,
              description: 'Filesystem on {{ $labels.device }} at {{ $labels.instance }} has only {{ printf "%.2f" $value }}% available space left.',
            },
          },
          {
            alert: 'NodeHighCPU',
            expr: 'instance:node_cpu_utilisation:rate%(rateInterval)s * 100 > %(cpuHighThreshold)d' % $._config,
            'for': '15m',
            labels: { severity: 'warning' },
            annotations: {
              summary: 'High CPU usage.',
              description: 'CPU usage at {{ $labels.instance }} has been above %(cpuHighThreshold)d%% for 15 minutes.' % $._config,
            },
          },
        ],
      },
    ],
  },
}
