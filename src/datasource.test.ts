import { CoreApp, dateTime, TimeRange } from '@grafana/data';
import { BackendSrv, getTemplateSrv, setBackendSrv } from '@grafana/runtime';
import { of } from 'rxjs';

import { DataSource, filtersToSelector, formatSeries } from './datasource';
import { interpolateQueryExpr } from './escaping';
import { fakeTemplateSrv, instanceSettings } from './test/helpers';
import { GraftQuery } from './types';

jest.mock('@grafana/runtime', () => ({
  ...jest.requireActual('@grafana/runtime'),
  getTemplateSrv: jest.fn(),
}));

const mockedGetTemplateSrv = getTemplateSrv as jest.MockedFunction<typeof getTemplateSrv>;

const success = <T>(data: T) => ({ status: 'success', data });

const range: TimeRange = {
  from: dateTime(1700000000000),
  to: dateTime(1700003600500),
  raw: { from: 'now-1h', to: 'now' },
};

function query(partial: Partial<GraftQuery>): GraftQuery {
  return { refId: 'A', expr: '', ...partial };
}

describe('DataSource', () => {
  let ds: DataSource;
  let getResource: jest.SpyInstance;

  beforeEach(() => {
    mockedGetTemplateSrv.mockReturnValue(
      fakeTemplateSrv({
        instance: { value: "node'1:9100" },
        job: { value: ['api.v1', 'db(primary)'], multi: true },
        single: { value: ['only.one'], multi: true },
        all: { value: 'a+b', includeAll: true },
        env: { value: 'prod' },
      })
    );
    ds = new DataSource(instanceSettings({ timeInterval: '30s' }));
    getResource = jest.spyOn(ds, 'getResource');
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  describe('defaults', () => {
    it('returns the default query', () => {
      expect(ds.getDefaultQuery(CoreApp.PanelEditor)).toEqual({
        expr: '',
        legendFormat: '',
        range: true,
        instant: false,
        format: 'time_series',
        exemplar: false,
      });
    });

    it('takes the scrape interval from jsonData and defaults to 15s', () => {
      expect(ds.scrapeInterval).toBe('30s');
      expect(new DataSource(instanceSettings({})).scrapeInterval).toBe('15s');
    });

    it('enables standard annotation support', () => {
      expect(ds.annotations).toEqual({});
    });
  });

  describe('applyTemplateVariables', () => {
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

    it('replaces variables in legendFormat and interval without regex escaping, keeping {{label}}', () => {
      const result = ds.applyTemplateVariables(
        query({ expr: 'up', legendFormat: '{{instance}} in $env', interval: '$step' }),
        { step: { text: '1m', value: '1m' } }
      );
      expect(result.legendFormat).toBe('{{instance}} in prod');
      expect(result.interval).toBe('1m');
    });

    it('uses scoped variables (e.g. repeated panels) before dashboard variables', () => {
      const result = ds.applyTemplateVariables(query({ expr: 'up{env="$env"}' }), {
        env: { text: 'staging', value: 'staging' },
      });
      expect(result.expr).toBe('up{env="staging"}');
    });

    it('keeps the rest of the query and leaves unknown variables alone', () => {
      const q = query({ expr: 'rate(x[$__rate_interval])', format: 'table', exemplar: true, instant: true });
      const result = ds.applyTemplateVariables(q, {});
      expect(result).toEqual({ ...q, expr: 'rate(x[$__rate_interval])' });
      expect(result.adhocFilters).toBeUndefined();
    });

    it('forwards ad-hoc filters as PromQL matchers', () => {
      const result = ds.applyTemplateVariables(query({ expr: 'up' }), {}, [
        { key: 'job', operator: '=', value: 'api' },
        { key: 'env', operator: '=|', value: 'a.b', values: ['a.b', 'c'] },
        { key: 'zone', operator: '<', value: '3' },
      ]);
      expect(result.adhocFilters).toEqual([
        { key: 'job', operator: '=', value: 'api' },
        { key: 'env', operator: '=~', value: String.raw`a\.b|c` },
      ]);
    });
  });

  describe('interpolateQueryExpr', () => {
    it('escapes every regex metacharacter of multi-value values', () => {
      expect(interpolateQueryExpr(['$^*{}[]+?.()|', 'x'], { multi: true })).toBe(
        String.raw`(\\$\\^\\*\\{\\}\\[\\]\\+\\?\\.\\(\\)\\||x)`
      );
    });

    it('doubles backslashes twice for regex values and once for plain values', () => {
      expect(interpolateQueryExpr([String.raw`a\b`, 'c'], { multi: true })).toBe(String.raw`(a\\\\b|c)`);
      expect(interpolateQueryExpr(String.raw`a\b`, { multi: false })).toBe(String.raw`a\\b`);
    });
  });

  describe('filterQuery', () => {
    it('drops hidden and empty queries', () => {
      expect(ds.filterQuery(query({ expr: 'up' }))).toBe(true);
      expect(ds.filterQuery(query({ expr: 'up', hide: true }))).toBe(false);
      expect(ds.filterQuery(query({ expr: '' }))).toBe(false);
      expect(ds.filterQuery(query({ expr: '  \n ' }))).toBe(false);
      expect(ds.filterQuery({ refId: 'A' } as GraftQuery)).toBe(false);
    });
  });

  describe('metricFindQuery', () => {
    it('label_names() lists label names', async () => {
      getResource.mockResolvedValue(success(['__name__', 'instance', 'job']));
      const result = await ds.metricFindQuery('label_names()');
      expect(getResource).toHaveBeenCalledWith('api/v1/labels', {});
      expect(result).toEqual([
        { text: '__name__', value: '__name__' },
        { text: 'instance', value: 'instance' },
        { text: 'job', value: 'job' },
      ]);
    });

    it('label_values(label) lists the values of a label, with the time range', async () => {
      getResource.mockResolvedValue(success(['api', 'db']));
      const result = await ds.metricFindQuery('label_values(job)', { range });
      expect(getResource).toHaveBeenCalledWith('api/v1/label/job/values', { start: 1700000000, end: 1700003601 });
      expect(result.map((v) => v.text)).toEqual(['api', 'db']);
    });

    it('label_values(metric, label) restricts the values with match[]', async () => {
      getResource.mockResolvedValue(success(['node1:9100']));
      const result = await ds.metricFindQuery('label_values(up{env="prod"}, instance)');
      expect(getResource).toHaveBeenCalledWith('api/v1/label/instance/values', { 'match[]': 'up{env="prod"}' });
      expect(result).toEqual([{ text: 'node1:9100', value: 'node1:9100' }]);
    });

    it('interpolates dashboard variables inside variable queries', async () => {
      getResource.mockResolvedValue(success([]));
      await ds.metricFindQuery('label_values(up{job=~"$job"}, instance)');
      expect(getResource).toHaveBeenCalledWith('api/v1/label/instance/values', {
        'match[]': String.raw`up{job=~"(api\\.v1|db\\(primary\\))"}`,
      });
    });

    it('metrics(regex) filters metric names', async () => {
      getResource.mockResolvedValue(success(['go_goroutines', 'node_cpu_seconds_total', 'node_load1', 'up']));
      const result = await ds.metricFindQuery('metrics(node_.*)');
      expect(getResource).toHaveBeenCalledWith('api/v1/label/__name__/values', {});
      expect(result.map((v) => v.text)).toEqual(['node_cpu_seconds_total', 'node_load1']);
    });

    it('query_result(expr) runs an instant query and formats each series', async () => {
      getResource.mockResolvedValue(
        success({
          resultType: 'vector',
          result: [
            { metric: { __name__: 'up', job: 'api', instance: 'a:1' }, value: [1700003601, '1'] },
            { metric: { job: 'db' }, value: [1700003601, '0'] },
          ],
        })
      );
      const result = await ds.metricFindQuery('query_result(max by (job) (up))', { range });
      expect(getResource).toHaveBeenCalledWith('api/v1/query', { query: 'max by (job) (up)', time: 1700003601 });
      expect(result.map((v) => v.text)).toEqual([
        'up{instance="a:1", job="api"} 1 1700003601000',
        '{job="db"} 0 1700003601000',
      ]);
    });

    it('query_result(expr) returns scalars as their value', async () => {
      getResource.mockResolvedValue(success({ resultType: 'scalar', result: [1700003601, '42'] }));
      const result = await ds.metricFindQuery('query_result(scalar(count(up)))');
      expect(getResource).toHaveBeenCalledWith('api/v1/query', { query: 'scalar(count(up))' });
      expect(result).toEqual([{ text: '42', expandable: false }]);
    });

    it('treats any other query as a series selector', async () => {
      getResource.mockResolvedValue(success([{ __name__: 'up', job: 'api' }]));
      const result = await ds.metricFindQuery('up{job="api"}');
      expect(getResource).toHaveBeenCalledWith('api/v1/series', { 'match[]': 'up{job="api"}' });
      expect(result.map((v) => v.text)).toEqual(['up{job="api"}']);
    });

    it('returns nothing for an empty query without calling the backend', async () => {
      expect(await ds.metricFindQuery('  ')).toEqual([]);
      expect(getResource).not.toHaveBeenCalled();
    });

    it('rejects with the error of an error envelope', async () => {
      getResource.mockResolvedValue({ status: 'error', errorType: 'bad_data', error: 'parse error at char 3' });
      await expect(ds.metricFindQuery('label_values(job)')).rejects.toThrow('parse error at char 3');
    });

    it('calls the datasource resource URL through the backend service', async () => {
      getResource.mockRestore();
      const fetch = jest.fn().mockReturnValue(of({ data: success(['job']), status: 200 }));
      setBackendSrv({ fetch } as unknown as BackendSrv);
      const result = await ds.metricFindQuery('label_values(up, job)');
      expect(fetch).toHaveBeenCalledWith(
        expect.objectContaining({
          method: 'GET',
          url: '/api/datasources/uid/graft-uid/resources/api/v1/label/job/values',
          params: { 'match[]': 'up' },
        })
      );
      expect(result).toEqual([{ text: 'job', value: 'job' }]);
    });
  });

  describe('ad-hoc filters', () => {
    it('getTagKeys lists label names without __name__', async () => {
      getResource.mockResolvedValue(success(['__name__', 'instance', 'job']));
      const keys = await ds.getTagKeys({ filters: [], timeRange: range });
      expect(getResource).toHaveBeenCalledWith('api/v1/labels', { start: 1700000000, end: 1700003601 });
      expect(keys.map((k) => k.text)).toEqual(['instance', 'job']);
    });

    it('getTagKeys restricts label names by the filters already set', async () => {
      getResource.mockResolvedValue(success(['job']));
      await ds.getTagKeys({ filters: [{ key: 'job', operator: '=', value: 'api' }] });
      expect(getResource).toHaveBeenCalledWith('api/v1/labels', { 'match[]': '{job="api"}' });
    });

    it('getTagValues lists values of the key, restricted by the other filters', async () => {
      getResource.mockResolvedValue(success(['a:1', 'b:1']));
      const values = await ds.getTagValues({
        key: 'instance',
        filters: [
          { key: 'job', operator: '=~', value: 'api|db' },
          { key: 'instance', operator: '=', value: 'x' },
        ],
      });
      expect(getResource).toHaveBeenCalledWith('api/v1/label/instance/values', { 'match[]': '{job=~"api|db"}' });
      expect(values.map((v) => v.text)).toEqual(['a:1', 'b:1']);
    });
  });
});

describe('helpers', () => {
  it('filtersToSelector builds a selector only when a filter selects something', () => {
    expect(filtersToSelector([{ key: 'job', operator: '!=', value: 'api' }])).toBeUndefined();
    expect(
      filtersToSelector([
        { key: 'job', operator: '!=', value: 'api' },
        { key: 'path', operator: '=', value: 'C:\\dir "x"' },
      ])
    ).toBe(String.raw`{job!="api",path="C:\\dir \"x\""}`);
  });

  it('formatSeries prints a series like Prometheus', () => {
    expect(formatSeries({ __name__: 'up', z: '1', a: 'x' })).toBe('up{a="x", z="1"}');
  });
});
