local variable(name, label, query) = {
  name: name,
  label: label,
  type: 'query',
  datasource: { type: 'prometheus', uid: '${datasource}' },
  query: query,
  definition: query,
  refresh: 2,
  multi: true,
  includeAll: true,
  allValue: '.+',
  sort: 1,
};

local panel(id, title, description, unit, expr, legend, x) = {
  id: id,
  type: 'timeseries',
  title: title,
  description: description,
  datasource: { type: 'prometheus', uid: '${datasource}' },
  gridPos: { h: 8, w: 12, x: x, y: 0 },
  fieldConfig: { defaults: { unit: unit }, overrides: [] },
  targets: [{ refId: 'A', expr: expr, legendFormat: legend }],
};

{
  grafanaDashboards+:: {
    'node-overview.json': {
      uid: 'node-mixin-overview',
      title: 'Node Exporter / Overview',
      tags: ['node-exporter-mixin'],
      schemaVersion: 39,
      time: { from: 'now-1h', to: 'now' },
      templating: {
        list: [
          {
            name: 'datasource',
            label: 'Data source',
            type: 'datasource',
            query: 'prometheus',
            current: { text: 'default', value: 'default' },
          },
          variable('job', 'Job', 'label_values(node_uname_info, job)'),
          variable('instance', 'Instance', 'label_values(node_uname_info{job=~"$job"}, instance)'),
        ],
      },
      panels: [
        panel(1, 'CPU usage', 'Share of CPU time not idle.', 'percentunit',
              '1 - avg by (instance) (rate(node_cpu_seconds_total{job=~"$job",instance=~"$instance",mode="idle"}[$__rate_interval]))',
              '{{instance}}', 0),
        panel(2, 'Memory available', 'Memory available to processes.', 'bytes',
              'node_memory_MemAvailable_bytes{job=~"$job",instance=~"$instance"}', '{{instance}}', 12),
      ],
    },
  },
}
