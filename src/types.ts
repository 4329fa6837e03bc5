import { DataSourceJsonData } from '@grafana/data';
import { DataQuery } from '@grafana/schema';

export type GraftQueryFormat = 'time_series' | 'table' | 'heatmap';

/** An ad-hoc filter forwarded to the backend, which injects it into every selector of the expression. */
export interface GraftAdHocFilter {
  key: string;
  operator: string;
  value: string;
}

/**
 * A PromQL query against Graft's embedded TSDB.
 * The field names follow the Prometheus datasource so dashboards can be moved between both.
 */
export interface GraftQuery extends DataQuery {
  /** PromQL expression. */
  expr: string;
  /** Legend template, e.g. `{{instance}}`. Empty means "Auto" (series name from its labels). */
  legendFormat?: string;
  /** Run as a range query. */
  range?: boolean;
  /** Run as an instant query (at the end of the time range). */
  instant?: boolean;
  format?: GraftQueryFormat;
  /** Also fetch exemplars for the series of this query. */
  exemplar?: boolean;
  /** Minimum step, e.g. `30s` or `$__interval`. */
  interval?: string;
  /** Resolution divisor (1/N points per pixel); kept for Prometheus dashboard compatibility. */
  intervalFactor?: number;
  /** Ad-hoc filters of the dashboard, set by applyTemplateVariables; never stored with the panel. */
  adhocFilters?: GraftAdHocFilter[];
}

export const DEFAULT_QUERY: Partial<GraftQuery> = {
  expr: '',
  legendFormat: '',
  range: true,
  instant: false,
  format: 'time_series',
  exemplar: false,
};

export const DEFAULT_SCRAPE_INTERVAL = '15s';

/** Where a trace id found in an exemplar label links to. */
export interface ExemplarTraceIdDestination {
  /** Exemplar label holding the trace id, e.g. `trace_id`. */
  name: string;
  /** Internal link: uid of a tracing datasource (Tempo, Jaeger, Zipkin...). */
  datasourceUid?: string;
  /** External link: URL, `${__value.raw}` is replaced with the trace id. */
  url?: string;
  /** Text of the external link. */
  urlDisplayLabel?: string;
}

export type GraftCacheLevel = 'None' | 'Low' | 'Medium' | 'High';

/** Per-instance settings stored in jsonData (sent to the browser). */
export interface GraftOptions extends DataSourceJsonData {
  /** Scrape interval, used as the default minimum step (default `15s`). */
  timeInterval?: string;
  /** Maximum time a PromQL evaluation may take, e.g. `60s`. */
  queryTimeout?: string;
  exemplarTraceIdDestinations?: ExemplarTraceIdDestination[];
  /** How long the query editor caches label and metric names. */
  cacheLevel?: GraftCacheLevel | string;
}

/** Secrets, only ever written: Grafana never sends them back, it only reports them in `secureJsonFields`. */
export interface GraftSecureJsonData {
  remoteWriteBasicAuthPassword?: string;
  remoteWriteBearerToken?: string;
}

/** Prometheus HTTP API envelope, as answered by the backend's resource endpoints. */
export interface PromApiResponse<T> {
  status: 'success' | 'error';
  data?: T;
  errorType?: string;
  error?: string;
  warnings?: string[];
}

export type PromLabels = Record<string, string>;

export type PromSample = [number, string];

export type PromQueryData =
  | { resultType: 'vector'; result: Array<{ metric: PromLabels; value: PromSample }> }
  | { resultType: 'matrix'; result: Array<{ metric: PromLabels; values: PromSample[] }> }
  | { resultType: 'scalar'; result: PromSample }
  | { resultType: 'string'; result: PromSample };
