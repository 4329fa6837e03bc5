import { DataSourceInstanceSettings } from '@grafana/data';
import { PromApplication } from '@grafana/prometheus';

import { GraftOptions } from './types';

/**
 * The Prometheus version whose PromQL and HTTP API Graft implements. The Prometheus
 * datasource turns features on by flavour and version (the labels API with match[]
 * since 2.24, for instance); Graft answers as a Prometheus 3.
 */
export const GRAFT_PROMETHEUS_VERSION = '3.0.0';

/**
 * Instance settings as PrometheusDatasource expects them, for a Prometheus that
 * lives inside the plugin:
 * - access is always "proxy": every request goes through Grafana to the backend
 *   (resources under /api/datasources/uid/<uid>/resources/api/v1/...);
 * - the flavour and version are Graft's, whatever jsonData says, so the editor
 *   enables what Graft supports;
 * - editor lookups use POST unless GET was chosen: the backend takes both, and
 *   POST carries long match[] selectors;
 * - incremental querying stays off (the backend does not support it) and custom
 *   query parameters are dropped (the backend's queries ignore them, so lookups
 *   must not depend on them either).
 */
export function toPrometheusInstanceSettings(
  settings: DataSourceInstanceSettings<GraftOptions>
): DataSourceInstanceSettings<GraftOptions> {
  const jsonData = settings.jsonData ?? {};
  return {
    ...settings,
    access: 'proxy',
    jsonData: {
      ...jsonData,
      httpMethod: jsonData.httpMethod === 'GET' ? 'GET' : 'POST',
      prometheusType: PromApplication.Prometheus,
      prometheusVersion: GRAFT_PROMETHEUS_VERSION,
      incrementalQuerying: false,
      customQueryParameters: undefined,
    },
  };
}
