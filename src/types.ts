import { PromOptions, PromQuery } from '@grafana/prometheus';

/**
 * A PromQL query against Graft's embedded TSDB: Grafana's Prometheus query model
 * (expr, legendFormat, range/instant, exemplar, format, interval, editorMode...),
 * so that dashboards move between Graft and a Prometheus datasource unchanged.
 */
export type GraftQuery = PromQuery;

/**
 * Per-instance settings stored in jsonData (sent to the browser): the Prometheus
 * datasource's settings. Graft's backend reads timeInterval, queryTimeout, maxSourceResolution and
 * exemplarTraceIdDestinations; the others tune the query editor. Settings for a
 * Prometheus server Graft does not have (URL, auth, custom query parameters,
 * incremental querying) are neither shown nor honoured.
 */
export type GraftOptions = PromOptions;

/** Secrets, only ever written: Grafana never sends them back, it only reports them in `secureJsonFields`. */
export interface GraftSecureJsonData {
  remoteWriteBasicAuthPassword?: string;
  remoteWriteBearerToken?: string;
}

/**
 * An ad-hoc filter as Graft's backend reads it from a query's `adhocFilters`:
 * a PromQL label matcher it adds to every selector of the expression.
 */
export interface GraftAdHocFilter {
  key: string;
  operator: '=' | '!=' | '=~' | '!~';
  value: string;
}

export const DEFAULT_SCRAPE_INTERVAL = '15s';
