import { AdHocVariableFilter, CoreApp, DataSourceInstanceSettings, ScopedVars } from '@grafana/data';
import { LegendFormatMode, PrometheusDatasource } from '@grafana/prometheus';
import { BackendSrvRequest, FetchResponse, TemplateSrv } from '@grafana/runtime';

import { toGraftAdHocFilters } from './adhocFilters';
import { toPrometheusInstanceSettings } from './instanceSettings';
import { emptyAnswer, isMissingOptionalEndpoint } from './optionalEndpoints';
import { GraftAdHocFilter, GraftOptions, GraftQuery } from './types';

/** What QueryData receives: a Prometheus query with ad-hoc filters as PromQL matchers. */
type BackendQuery = Omit<InterpolatedQuery, 'adhocFilters'> & { adhocFilters?: GraftAdHocFilter[] };

/** PrometheusDatasource's interpolated query: expr, interval and legendFormat are always set. */
type InterpolatedQuery = ReturnType<PrometheusDatasource['applyTemplateVariables']>;

/**
 * Graft is a Prometheus inside the plugin: PrometheusDatasource provides the code
 * editor and query builder, variables, annotations, ad-hoc filter keys and values,
 * query hints and result transforms, all through the backend's Prometheus HTTP API
 * resources (api/v1/...) and QueryData. This class adapts it to what the backend
 * serves.
 */
export class DataSource extends PrometheusDatasource {
  constructor(instanceSettings: DataSourceInstanceSettings<GraftOptions>, templateSrv?: TemplateSrv) {
    super(toPrometheusInstanceSettings(instanceSettings), templateSrv);
  }

  /** Prometheus's defaults for the app (instant in alerting, both in Explore), with Auto legends. */
  getDefaultQuery(app: CoreApp): GraftQuery {
    return {
      ...super.getDefaultQuery(app),
      legendFormat: LegendFormatMode.Auto,
      format: 'time_series',
      exemplar: false,
    };
  }

  /**
   * Template variables are interpolated as Prometheus does (multi-value variables
   * as escaped regex alternations). Ad-hoc filters are not spliced into the
   * expression text but sent as `adhocFilters`: the backend adds them to every
   * selector with Prometheus's own parser, which covers all of PromQL and the
   * multi-value operators.
   */
  applyTemplateVariables(
    query: GraftQuery,
    scopedVars: ScopedVars,
    filters?: AdHocVariableFilter[]
  ): InterpolatedQuery {
    const interpolated = super.applyTemplateVariables(query, scopedVars);
    const backendQuery: BackendQuery = { ...interpolated, adhocFilters: undefined };
    const adhocFilters = toGraftAdHocFilters(filters);
    if (adhocFilters.length > 0) {
      backendQuery.adhocFilters = adhocFilters;
    }
    // PromQuery types adhocFilters as scope filters (for Grafana's own Prometheus
    // backend); Graft's backend reads PromQL matchers under that name.
    return backendQuery as unknown as InterpolatedQuery;
  }

  /**
   * Resource requests (api/v1/...) as PrometheusDatasource makes them; an optional
   * endpoint the backend does not serve yet answers empty instead of failing.
   */
  async metadataRequest<T = unknown>(
    url: string,
    params?: Record<string, unknown>,
    options?: Partial<BackendSrvRequest>
  ): Promise<FetchResponse<T>> {
    try {
      return await super.metadataRequest<T>(url, params, options);
    } catch (error) {
      if (isMissingOptionalEndpoint(url, error)) {
        return emptyAnswer<T>(url);
      }
      throw error;
    }
  }
}
