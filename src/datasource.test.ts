import {
  CoreApp,
  createDataFrame,
  dataFrameToJSON,
  DataQueryRequest,
  DataQueryResponse,
  dateTime,
  FieldType,
  TimeRange,
} from '@grafana/data';
import {
  AnnotationQueryEditor,
  PromApplication,
  PrometheusCacheLevel,
  PrometheusVariableSupport,
  PromVariableQueryEditor,
} from '@grafana/prometheus';
import { DataSourceSrv, setDataSourceSrv } from '@grafana/runtime';
import { lastValueFrom } from 'rxjs';

import { DataSource } from './datasource';
import { GRAFT_PROMETHEUS_VERSION } from './instanceSettings';
import { fakeBackend, fakeTemplateSrv, instanceSettings, queryParams, RESOURCES, success } from './test/helpers';
import { GraftOptions, GraftQuery } from './types';

const range: TimeRange = {
  from: dateTime(1700000000000),
  to: dateTime(1700003600500),
  raw: { from: 'now-1h', to: 'now' },
};

function query(partial: Partial<GraftQuery>): GraftQuery {
  return { refId: 'A', expr: '', ...partial };
}

function newDataSource(jsonData: GraftOptions = {}) {
  const templateSrv = fakeTemplateSrv({
    instance: { value: "node'1:9100" },
    job: { value: ['api.v1', 'db(primary)'], multi: true },
    single: { value: ['only.one'], multi: true },
    all: { value: 'a+b', includeAll: true },
    env: { value: 'prod' },
  });
  return new DataSource(instanceSettings(jsonData), templateSrv);
}

describe('DataSource settings', () => {
  it('takes the scrape interval from jsonData and defaults to 15s', () => {
    expect(newDataSource({ timeInterval: '30s' }).interval).toBe('30s');
    expect(newDataSource().interval).toBe('15s');
  });

  it('makes editor lookups with POST unless GET is chosen', () => {
    expect(newDataSource().httpMethod).toBe('POST');
    expect(newDataSource({ httpMethod: 'GET' }).httpMethod).toBe('GET');
  });

  it('keeps incremental querying off, which the backend does not support', () => {
    expect(newDataSource({ incrementalQuerying: true }).hasIncrementalQuery).toBe(false);
  });

  it('is a Prometheus 3 whatever flavour and version jsonData names', () => {
    const ds = newDataSource({ prometheusType: PromApplication.Thanos, prometheusVersion: '0.1.0' });
    expect(ds.datasourceConfigurationPrometheusFlavor).toBe(PromApplication.Prometheus);
    expect(ds.datasourceConfigurationPrometheusVersion).toBe(GRAFT_PROMETHEUS_VERSION);
    // Thanos 0.1 has no match[] on the labels API; Graft has.
    expect(ds.hasLabelsMatchAPISupport()).toBe(true);
  });

  it('passes the editor settings through', () => {
    const ds = newDataSource({ cacheLevel: PrometheusCacheLevel.High, seriesLimit: 500, disableMetricsLookup: true });
    expect(ds.cacheLevel).toBe(PrometheusCacheLevel.High);
    expect(ds.seriesLimit).toBe(500);
    expect(ds.lookupsDisabled).toBe(true);
  });

  it('comes with the Prometheus variable and annotation editors', () => {
    const ds = newDataSource();
    expect(ds.variables).toBeInstanceOf(PrometheusVariableSupport);
    expect((ds.variables as PrometheusVariableSupport).editor).toBe(PromVariableQueryEditor);
    expect(ds.annotations?.QueryEditor).toBe(AnnotationQueryEditor);
  });
});

describe('DataSource.getDefaultQuery', () => {
  const ds = newDataSource();
  const panel = {
    refId: 'A',
    expr: '',
    range: true,
    instant: false,
    legendFormat: '__auto',
    format: 'time_series',
    exemplar: false,
  };

  it('is a range query with an Auto legend in panels', () => {
    expect(ds.getDefaultQuery(CoreApp.PanelEditor)).toEqual(panel);
  });

  it('runs both range and instant in Explore, and instant only in alerting', () => {
    expect(ds.getDefaultQuery(CoreApp.Explore)).toEqual({ ...panel, instant: true });
    expect(ds.getDefaultQuery(CoreApp.UnifiedAlerting)).toEqual({ ...panel, range: false, instant: true });
  });
});

describe('DataSource.applyTemplateVariables', () => {
  const ds = newDataSource();

  it('escapes single-value variables as plain strings', () => {
    const result = ds.applyTemplateVariables(query({ expr: 'up{instance="$instance"}' }), {});
    expect(result.expr).toBe(String.raw`up{instance="node\\'1:9100"}`);
  });

  it('joins multi-value variables as an escaped regex alternation', () => {
    const result = ds.applyTemplateVariables(query({ expr: 'sum(rate(http_requests_total{job=~"$job"}[5m]))' }), {});
    expect(result.expr).toBe(String.raw`sum(rate(http_requests_total{job=~"(api\\.v1|db\\(primary\\))"}[5m]))`);
  });

  it('does not wrap a single selected value of a multi-value variable', () => {
    const result = ds.applyTemplateVariables(query({ expr: 'up{job=~"${single}"}' }), {});
    expect(result.expr).toBe(String.raw`up{job=~"only\\.one"}`);
  });

  it('regex-escapes the value of an include-All variable', () => {
    const result = ds.applyTemplateVariables(query({ expr: 'up{job=~"$all"}' }), {});
    expect(result.expr).toBe(String.raw`up{job=~"a\\+b"}`);
  });

  it('replaces variables in legendFormat and the min step, keeping {{label}} and $__interval', () => {
    const result = ds.applyTemplateVariables(
      query({ expr: 'rate(x[$__interval])', legendFormat: '{{instance}} in $env', interval: '$step' }),
      { step: { text: '1m', value: '1m' } }
    );
    expect(result.legendFormat).toBe('{{instance}} in prod');
    expect(result.interval).toBe('1m');
    // The backend replaces $__interval with the step it chooses.
    expect(result.expr).toBe('rate(x[$__interval])');
  });

  it('uses scoped variables (e.g. repeated panels) before dashboard variables', () => {
    const result = ds.applyTemplateVariables(query({ expr: 'up{env="$env"}' }), {
      env: { text: 'staging', value: 'staging' },
    });
    expect(result.expr).toBe('up{env="staging"}');
  });

  it('sends ad-hoc filters as adhocFilters and leaves the expression alone', () => {
    const result = ds.applyTemplateVariables(query({ expr: 'sum by (job) (rate(x[5m])) / on() group_left y' }), {}, [
      { key: 'job', operator: '=', value: 'api' },
      { key: 'env', operator: '=|', value: 'a.b', values: ['a.b', 'c'] },
    ]);
    expect(result.expr).toBe('sum by (job) (rate(x[5m])) / on() group_left y');
    expect(result.adhocFilters).toEqual([
      { key: 'job', operator: '=', value: 'api' },
      { key: 'env', operator: '=~', value: String.raw`a\.b|c` },
    ]);
  });

  it('sends PromQL matchers, not scope filters, for a query with scopes', () => {
    const scoped = query({ expr: 'up', scopes: [{ name: 'prod', title: 'Prod', filters: [] }] });
    const result = ds.applyTemplateVariables(scoped, {}, [{ key: 'job', operator: '!=', value: 'db' }]);
    expect(result.adhocFilters).toEqual([{ key: 'job', operator: '!=', value: 'db' }]);
  });

  it('sends no adhocFilters without filters', () => {
    const q = query({ expr: 'up', format: 'table', exemplar: true, instant: true });
    const result = ds.applyTemplateVariables(q, {});
    expect(result).toEqual({ ...q, interval: '', legendFormat: '' });
    expect('adhocFilters' in JSON.parse(JSON.stringify(result))).toBe(false);
  });
});

describe('DataSource resource requests', () => {
  let ds: DataSource;

  beforeEach(() => {
    ds = newDataSource();
  });

  it('reaches the Prometheus API under the datasource resources, with POST for labels', async () => {
    const { requests } = fakeBackend({ [`${RESOURCES}/api/v1/labels`]: success(['instance', 'job']) });
    const keys = await ds.languageProvider.queryLabelKeys(range, '{job="api"}');
    expect(keys).toEqual(['instance', 'job']);
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({
      url: `${RESOURCES}/api/v1/labels`,
      method: 'POST',
      headers: expect.objectContaining({ 'Content-Type': 'application/x-www-form-urlencoded' }),
      data: expect.objectContaining({ 'match[]': '{job="api"}', limit: 40000 }),
    });
    expect(requests[0].data).toHaveProperty('start');
    expect(requests[0].data).toHaveProperty('end');
  });

  it('uses GET with a query string when GET is configured', async () => {
    ds = newDataSource({ httpMethod: 'GET', customQueryParameters: 'timeout=5s' });
    const { requests } = fakeBackend({ [`${RESOURCES}/api/v1/labels`]: success(['job']) });
    await ds.languageProvider.queryLabelKeys(range, '{job="api"}');
    expect(requests[0].method).toBe('GET');
    expect(queryParams(requests[0])).toMatchObject({ 'match[]': '{job="api"}', limit: '40000' });
    // Custom query parameters are a Prometheus server setting Graft does not have.
    expect(queryParams(requests[0])).not.toHaveProperty('timeout');
  });

  it('label_values(selector, label) asks the label values endpoint with match[]', async () => {
    const { requests } = fakeBackend({ [`${RESOURCES}/api/v1/label/instance/values`]: success(['a:1', 'b:1']) });
    const values = await ds.metricFindQuery('label_values(up{job=~"$job"}, instance)', { range });
    expect(values).toEqual([{ text: 'a:1' }, { text: 'b:1' }]);
    expect(requests[0].method).toBe('GET');
    expect(queryParams(requests[0])).toMatchObject({ 'match[]': String.raw`up{job=~"(api\\.v1|db\\(primary\\))"}` });
  });

  it('query_result(expr) runs an instant query at the end of the range', async () => {
    const { requests } = fakeBackend({
      [`${RESOURCES}/api/v1/query`]: success({
        resultType: 'vector',
        result: [{ metric: { __name__: 'up', job: 'api' }, value: [1700003601, '1'] }],
      }),
    });
    const values = await ds.metricFindQuery('query_result(max by (job) (up))', { range });
    expect(values).toEqual([{ text: 'up{job="api"} 1 1700003601000', expandable: true }]);
    expect(requests[0]).toMatchObject({
      method: 'POST',
      data: { query: 'max by (job) (up)', time: '1700003601' },
    });
  });

  it('a series selector lists the matching series', async () => {
    const { requests } = fakeBackend({ [`${RESOURCES}/api/v1/series`]: success([{ __name__: 'up', job: 'api' }]) });
    const values = await ds.metricFindQuery('up{job="api"}', { range });
    expect(values).toEqual([{ text: 'up{job="api"}', expandable: true }]);
    expect(requests[0].data).toMatchObject({ 'match[]': 'up{job="api"}' });
  });

  it('ad-hoc filter values are restricted by the other filters', async () => {
    const { requests } = fakeBackend({ [`${RESOURCES}/api/v1/label/instance/values`]: success(['a:1']) });
    const values = await ds.getTagValues({
      key: 'instance',
      filters: [{ key: 'job', operator: '=', value: 'api' }],
      timeRange: range,
    });
    expect(values).toEqual([{ text: 'a:1', value: 'a:1' }]);
    expect(queryParams(requests[0])['match[]']).toBe('{job="api"}');
  });

  it('init() loads recording rules for the editor', async () => {
    fakeBackend({
      [`${RESOURCES}/api/v1/rules`]: success({
        groups: [{ name: 'g', rules: [{ type: 'recording', name: 'job:up:sum', query: 'sum by (job) (up)' }] }],
      }),
    });
    await ds.init();
    expect(ds.ruleMappings).toEqual({ 'job:up:sum': [{ query: 'sum by (job) (up)', labels: undefined }] });
  });
});

describe('DataSource endpoints the backend does not serve yet', () => {
  let ds: DataSource;
  let consoleError: jest.SpyInstance;

  beforeEach(() => {
    ds = newDataSource();
    consoleError = jest.spyOn(console, 'error').mockImplementation(() => {});
  });

  afterEach(() => {
    consoleError.mockRestore();
  });

  // @grafana/prometheus adds the help of ALERTS, Prometheus's built-in series, to any answer.
  it('metadata answers empty on 404: metric names come without help, and no error', async () => {
    const { requests } = fakeBackend({});
    expect(Object.keys(await ds.languageProvider.queryMetricsMetadata())).toEqual(['ALERTS']);
    expect(requests.map((r) => r.url.split('?')[0])).toEqual([`${RESOURCES}/api/v1/metadata`]);
    expect(consoleError).not.toHaveBeenCalled();
  });

  it('metadata is used once the backend serves it', async () => {
    fakeBackend({
      [`${RESOURCES}/api/v1/metadata`]: success({ up: [{ type: 'gauge', help: 'Target is up', unit: '' }] }),
    });
    expect(await ds.languageProvider.queryMetricsMetadata()).toMatchObject({
      up: { type: 'gauge', help: 'Target is up', unit: '' },
    });
  });

  it('keeps the Exemplars switch when query_exemplars is missing: QueryData serves exemplars', async () => {
    fakeBackend({ [`${RESOURCES}/api/v1/rules`]: success({ groups: [] }) });
    await ds.init();
    expect(ds.exemplarsAvailable).toBe(true);
  });

  it('a backend that is down still counts as a failure', async () => {
    fakeBackend({
      [`${RESOURCES}/api/v1/query_exemplars`]: { status: 503, body: { status: 'error', errorType: 'unavailable' } },
    });
    await ds.init();
    expect(ds.exemplarsAvailable).toBe(false);
  });

  it('only optional endpoints degrade: a 404 elsewhere is an error', async () => {
    fakeBackend({});
    await expect(ds.metadataRequest('/api/v1/label/job/values')).rejects.toMatchObject({ status: 404 });
  });
});

describe('DataSource.query', () => {
  const destinations = [
    { name: 'trace_id', datasourceUid: 'tempo' },
    { name: 'trace_id', url: 'https://traces.example/${__value.raw}', urlDisplayLabel: 'Open' },
  ];

  beforeEach(() => {
    setDataSourceSrv({
      getInstanceSettings: (uid: string) => (uid === 'tempo' ? { uid: 'tempo', name: 'Tempo' } : undefined),
    } as unknown as DataSourceSrv);
  });

  function request(targets: GraftQuery[]): DataQueryRequest<GraftQuery> {
    return {
      app: CoreApp.Dashboard,
      requestId: 'Q1',
      interval: '15s',
      intervalMs: 15000,
      range,
      scopedVars: {},
      targets,
      timezone: 'utc',
      startTime: 0,
      filters: [{ key: 'job', operator: '=', value: 'api' }],
    };
  }

  const seriesFrame = () =>
    dataFrameToJSON(
      createDataFrame({
        refId: 'A',
        fields: [
          { name: 'Time', type: FieldType.time, values: [1700000000000] },
          { name: 'Value', type: FieldType.number, values: [1], labels: { job: 'api' } },
        ],
      })
    );

  const exemplarFrame = (traceFieldConfig = {}) =>
    dataFrameToJSON(
      createDataFrame({
        name: 'exemplar',
        refId: 'A',
        meta: { custom: { resultType: 'exemplar' } },
        fields: [
          { name: 'Time', type: FieldType.time, values: [1700000000000] },
          { name: 'Value', type: FieldType.number, values: [0.9] },
          { name: 'trace_id', type: FieldType.string, values: ['t2'], config: traceFieldConfig },
        ],
      })
    );

  async function run(frames: unknown[]): Promise<DataQueryResponse> {
    const backend = fakeBackend({ '/api/ds/query': { results: { A: { status: 200, frames } } } });
    const ds = new DataSource(instanceSettings({ exemplarTraceIdDestinations: destinations }), fakeTemplateSrv());
    const response = await lastValueFrom(ds.query(request([query({ expr: 'rate(x[5m])', exemplar: true })])));
    return { ...response, requests: backend.requests } as DataQueryResponse;
  }

  it('sends Grafana’s Prometheus query model to QueryData, with the ad-hoc filters', async () => {
    const { requests } = (await run([seriesFrame()])) as DataQueryResponse & { requests: Array<{ data: any }> };
    const [sent] = requests[0].data.queries;
    expect(sent).toMatchObject({
      refId: 'A',
      expr: 'rate(x[5m])',
      exemplar: true,
      utcOffsetSec: 0,
      adhocFilters: [{ key: 'job', operator: '=', value: 'api' }],
      datasource: { uid: 'graft-uid' },
    });
  });

  // Exemplar trace links are made here, by @grafana/prometheus's transformV2, from the
  // datasource's exemplarTraceIdDestinations: the backend sends the exemplar frame bare.
  it('links each exemplar trace id once per destination', async () => {
    const response = await run([seriesFrame(), exemplarFrame()]);
    const exemplars = response.data.find((frame) => frame.name === 'exemplar');
    const links = exemplars.fields.find((field: { name: string }) => field.name === 'trace_id').config.links;
    expect(links).toHaveLength(2);
    expect(links[0]).toMatchObject({
      title: 'Query with Tempo',
      internal: { datasourceUid: 'tempo', datasourceName: 'Tempo', query: { query: '${__value.raw}' } },
    });
    expect(links[1]).toMatchObject({ title: 'Open', url: 'https://traces.example/${__value.raw}' });
  });

  it('would show links twice if the backend made them as well (why it does not)', async () => {
    const backendLinks = [{ title: 'Open', url: 'https://traces.example/${__value.raw}' }];
    const response = await run([exemplarFrame({ links: backendLinks })]);
    const exemplars = response.data.find((frame) => frame.name === 'exemplar');
    const links = exemplars.fields.find((field: { name: string }) => field.name === 'trace_id').config.links;
    expect(links.filter((link: { title: string }) => link.title === 'Open')).toHaveLength(2);
  });
});
