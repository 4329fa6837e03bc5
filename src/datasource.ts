import {
  AdHocVariableFilter,
  CoreApp,
  DataSourceGetTagKeysOptions,
  DataSourceGetTagValuesOptions,
  DataSourceInstanceSettings,
  LegacyMetricFindQueryOptions,
  MetricFindValue,
  ScopedVars,
  TimeRange,
} from '@grafana/data';
import { DataSourceWithBackend, getTemplateSrv } from '@grafana/runtime';

import { escapeLabelValue, interpolateQueryExpr, promRegexEscape } from './escaping';
import {
  DEFAULT_QUERY,
  DEFAULT_SCRAPE_INTERVAL,
  GraftAdHocFilter,
  GraftOptions,
  GraftQuery,
  PromApiResponse,
  PromLabels,
  PromQueryData,
  PromSample,
} from './types';

/** Backend resource paths: the Prometheus HTTP API, served by the plugin backend. */
export const RESOURCE_LABELS = 'api/v1/labels';
export const RESOURCE_SERIES = 'api/v1/series';
export const RESOURCE_QUERY = 'api/v1/query';
export const resourceLabelValues = (label: string) => `api/v1/label/${encodeURIComponent(label)}/values`;

// Variable query forms, the same as the Prometheus datasource's.
const LABEL_NAMES_REGEX = /^label_names\(\s*(?:(.+?)\s*)?\)\s*$/;
const LABEL_VALUES_REGEX = /^label_values\(\s*(?:(.+?)\s*,\s*)?([a-zA-Z_$][a-zA-Z0-9_.]*)\s*\)\s*$/;
const METRIC_NAMES_REGEX = /^metrics\(\s*(.+?)\s*\)\s*$/;
const QUERY_RESULT_REGEX = /^query_result\(\s*(.+)\s*\)\s*$/;

type Params = Record<string, string | number | string[]>;

export class DataSource extends DataSourceWithBackend<GraftQuery, GraftOptions> {
  /** Scrape interval of the instance; the lower bound for the query step. */
  readonly scrapeInterval: string;

  constructor(instanceSettings: DataSourceInstanceSettings<GraftOptions>) {
    super(instanceSettings);
    this.scrapeInterval = instanceSettings.jsonData?.timeInterval || DEFAULT_SCRAPE_INTERVAL;
    // Standard annotation support: annotation queries use the query editor and the backend.
    this.annotations = {};
  }

  getDefaultQuery(_: CoreApp): Partial<GraftQuery> {
    return DEFAULT_QUERY;
  }

  getQueryDisplayText(query: GraftQuery): string {
    return query.expr ?? '';
  }

  filterQuery(query: GraftQuery): boolean {
    return !query.hide && !!query.expr?.trim();
  }

  applyTemplateVariables(query: GraftQuery, scopedVars: ScopedVars, filters?: AdHocVariableFilter[]): GraftQuery {
    const templateSrv = getTemplateSrv();
    const result: GraftQuery = {
      ...query,
      expr: templateSrv.replace(query.expr ?? '', scopedVars, interpolateQueryExpr),
      legendFormat: query.legendFormat ? templateSrv.replace(query.legendFormat, scopedVars) : query.legendFormat,
      interval: query.interval ? templateSrv.replace(query.interval, scopedVars) : query.interval,
    };
    const adhocFilters = toPromFilters(filters);
    if (adhocFilters.length > 0) {
      result.adhocFilters = adhocFilters;
    }
    return result;
  }

  /**
   * Query variable support:
   *   label_names()                 all label names
   *   label_values(label)           values of a label
   *   label_values(metric, label)   values of a label for series matching a metric/selector
   *   metrics(regex)                metric names matching a regex
   *   query_result(expr)            the result of an instant query, one row per series
   *   anything else                 treated as a series selector: one row per matching series
   */
  async metricFindQuery(query: unknown, options?: LegacyMetricFindQueryOptions): Promise<MetricFindValue[]> {
    const raw =
      typeof query === 'string'
        ? query
        : ((query as { query?: string; expr?: string })?.query ?? (query as { expr?: string })?.expr ?? '');
    const scopedVars: ScopedVars = { ...options?.scopedVars, ...rangeScopedVars(options?.range) };
    const expr = getTemplateSrv().replace(raw, scopedVars, interpolateQueryExpr).trim();
    if (!expr) {
      return [];
    }
    const timeParams = rangeParams(options?.range);

    const labelNames = expr.match(LABEL_NAMES_REGEX);
    if (labelNames) {
      const params: Params = { ...timeParams };
      if (labelNames[1]) {
        params['match[]'] = labelNames[1];
      }
      const names = await this.promGet<string[]>(RESOURCE_LABELS, params);
      return toValues(names);
    }

    const labelValues = expr.match(LABEL_VALUES_REGEX);
    if (labelValues) {
      const [, selector, label] = labelValues;
      const params: Params = { ...timeParams };
      if (selector) {
        params['match[]'] = selector;
      }
      const values = await this.promGet<string[]>(resourceLabelValues(label), params);
      return toValues(values);
    }

    const metricNames = expr.match(METRIC_NAMES_REGEX);
    if (metricNames) {
      const regex = new RegExp(metricNames[1]);
      const names = await this.promGet<string[]>(resourceLabelValues('__name__'), timeParams);
      return toValues(names.filter((name) => regex.test(name)));
    }

    const queryResult = expr.match(QUERY_RESULT_REGEX);
    if (queryResult) {
      const params: Params = { query: queryResult[1] };
      if (timeParams.end !== undefined) {
        params.time = timeParams.end;
      }
      const data = await this.promGet<PromQueryData>(RESOURCE_QUERY, params);
      return formatQueryResult(data);
    }

    const series = await this.promGet<PromLabels[]>(RESOURCE_SERIES, { ...timeParams, 'match[]': expr });
    return (series ?? []).map((labels) => ({ text: formatSeries(labels), expandable: true }));
  }

  /** Ad-hoc filter keys: label names, optionally restricted by the filters already set. */
  async getTagKeys(options?: DataSourceGetTagKeysOptions<GraftQuery>): Promise<MetricFindValue[]> {
    const params: Params = { ...rangeParams(options?.timeRange) };
    const match = filtersToSelector(options?.filters);
    if (match) {
      params['match[]'] = match;
    }
    const names = await this.promGet<string[]>(RESOURCE_LABELS, params);
    return toValues(names.filter((name) => name !== '__name__'));
  }

  /** Ad-hoc filter values: values of a label, restricted by the other filters already set. */
  async getTagValues(options: DataSourceGetTagValuesOptions<GraftQuery>): Promise<MetricFindValue[]> {
    const params: Params = { ...rangeParams(options.timeRange) };
    const match = filtersToSelector(options.filters?.filter((f) => f.key !== options.key));
    if (match) {
      params['match[]'] = match;
    }
    const values = await this.promGet<string[]>(resourceLabelValues(options.key), params);
    return toValues(values);
  }

  /** GET a backend resource answering a Prometheus API envelope and return its `data`. */
  async promGet<T>(path: string, params?: Params): Promise<T> {
    const response = await this.getResource<PromApiResponse<T> | T>(path, params);
    if (response && typeof response === 'object' && !Array.isArray(response) && 'status' in response) {
      const envelope = response as PromApiResponse<T>;
      if (envelope.status !== 'success') {
        throw new Error(envelope.error || `Graft: request to ${path} failed`);
      }
      return envelope.data as T;
    }
    return response as T;
  }
}

function toValues(values: string[] | undefined | null): MetricFindValue[] {
  return (values ?? []).map((value) => ({ text: value, value }));
}

/** Prometheus API time parameters (unix seconds) for a time range. */
function rangeParams(range?: TimeRange): { start?: number; end?: number } {
  if (!range) {
    return {};
  }
  return {
    start: Math.floor(range.from.valueOf() / 1000),
    end: Math.ceil(range.to.valueOf() / 1000),
  };
}

/** $__range, $__range_s and $__range_ms for variable queries, like the Prometheus datasource. */
function rangeScopedVars(range?: TimeRange): ScopedVars {
  if (!range) {
    return {};
  }
  const ms = range.to.valueOf() - range.from.valueOf();
  const s = Math.round(ms / 1000);
  return {
    __range_ms: { text: String(ms), value: ms },
    __range_s: { text: String(s), value: s },
    __range: { text: `${s}s`, value: `${s}s` },
  };
}

/** `metric{a="b", c="d"}`, the way Prometheus prints a series. */
export function formatSeries(labels: PromLabels): string {
  const { __name__: name = '', ...rest } = labels ?? {};
  const pairs = Object.keys(rest)
    .sort()
    .map((key) => `${key}="${escapeLabelValue(rest[key])}"`);
  return `${name}{${pairs.join(', ')}}`;
}

function formatSample(sample: PromSample): string {
  return `${sample[1]} ${Math.round(sample[0] * 1000)}`;
}

function formatQueryResult(data: PromQueryData | undefined): MetricFindValue[] {
  if (!data) {
    return [];
  }
  switch (data.resultType) {
    case 'vector':
      return data.result.map((r) => ({ text: `${formatSeries(r.metric)} ${formatSample(r.value)}`, expandable: true }));
    case 'matrix':
      return data.result.map((r) => {
        const last = r.values[r.values.length - 1];
        return {
          text: last ? `${formatSeries(r.metric)} ${formatSample(last)}` : formatSeries(r.metric),
          expandable: true,
        };
      });
    case 'scalar':
    case 'string':
      return [{ text: String(data.result[1]), expandable: false }];
    default:
      return [];
  }
}

/**
 * Ad-hoc filters as PromQL label matchers (=, !=, =~, !~). The multi-value
 * operators (=| and !=|) become regex alternations of escaped values.
 */
export function toPromFilters(filters?: AdHocVariableFilter[]): GraftAdHocFilter[] {
  const result: GraftAdHocFilter[] = [];
  for (const filter of filters ?? []) {
    if (!filter.key) {
      continue;
    }
    switch (filter.operator) {
      case '=':
      case '!=':
      case '=~':
      case '!~':
        result.push({ key: filter.key, operator: filter.operator, value: filter.value ?? '' });
        break;
      case '=|':
      case '!=|': {
        const values = filter.values?.length ? filter.values : [filter.value];
        const regex = values.map((v) => unescapePromString(String(promRegexEscape(v ?? '')))).join('|');
        result.push({ key: filter.key, operator: filter.operator === '=|' ? '=~' : '!~', value: regex });
        break;
      }
      default:
        break;
    }
  }
  return result;
}

// promRegexEscape escapes for use inside a PromQL string literal (double backslashes);
// filter values are raw regexes, so undo the string-literal level.
function unescapePromString(value: string): string {
  return value.replace(/\\\\/g, '\\');
}

/** `{a="b",c=~"d"}` for the filters, or undefined when no filter selects anything on its own. */
export function filtersToSelector(filters?: AdHocVariableFilter[]): string | undefined {
  const matchers = toPromFilters(filters);
  // A selector needs at least one matcher that does not match the empty string.
  const selective = matchers.some((m) => (m.operator === '=' && m.value !== '') || m.operator === '=~');
  if (!selective) {
    return undefined;
  }
  return `{${matchers.map((m) => `${m.key}${m.operator}"${escapeLabelValue(m.value)}"`).join(',')}}`;
}
