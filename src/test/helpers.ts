import { DataSourceInstanceSettings, PluginType, ScopedVars } from '@grafana/data';
import { BackendSrv, BackendSrvRequest, FetchError, FetchResponse, setBackendSrv, TemplateSrv } from '@grafana/runtime';
import { Observable, of, throwError } from 'rxjs';

import { GraftOptions } from '../types';

export interface FakeVariable {
  value: string | string[];
  multi?: boolean;
  includeAll?: boolean;
}

/**
 * A small stand-in for Grafana's TemplateSrv: replaces $name, ${name} and [[name]] from
 * scopedVars first and then from the given dashboard variables, applying a format
 * function the way Grafana does (called with the value and the variable model).
 */
export function fakeTemplateSrv(variables: Record<string, FakeVariable> = {}): TemplateSrv & {
  replace: jest.Mock;
} {
  const replace = jest.fn((target?: string, scopedVars?: ScopedVars, format?: string | Function): string => {
    if (!target) {
      return target ?? '';
    }
    return target.replace(/\$(\w+)|\$\{(\w+)\}|\[\[(\w+)\]\]/g, (match: string, a?: string, b?: string, c?: string) => {
      const name = (a ?? b ?? c)!;
      const scoped = scopedVars?.[name];
      const variable: FakeVariable | undefined = scoped ? { value: String(scoped.value) } : variables[name];
      if (!variable) {
        return match;
      }
      const formatted = typeof format === 'function' ? format(variable.value, { name, ...variable }) : variable.value;
      return Array.isArray(formatted) ? formatted.join(',') : String(formatted);
    });
  });
  return {
    replace,
    getVariables: () => [],
    containsTemplate: (target?: string) => !!target && /\$\w+|\$\{\w+\}|\[\[\w+\]\]/.test(target),
    updateTimeRange: jest.fn(),
  };
}

export function instanceSettings(jsonData: GraftOptions = {}): DataSourceInstanceSettings<GraftOptions> {
  return {
    uid: 'graft-uid',
    type: 'graftlabs-graft-datasource',
    name: 'Graft',
    access: 'proxy',
    readOnly: false,
    jsonData,
    meta: {
      id: 'graftlabs-graft-datasource',
      name: 'Graft',
      type: PluginType.datasource,
      module: '',
      baseUrl: '',
      info: {
        author: { name: 'Graft Labs' },
        description: '',
        links: [],
        logos: { small: '', large: '' },
        screenshots: [],
        updated: '',
        version: '',
      },
    },
  };
}

/** The path below a datasource's resource root, e.g. `/api/v1/labels`, without the query string. */
export const RESOURCES = '/api/datasources/uid/graft-uid/resources';

export type Answer = { status?: number; body: unknown };

/**
 * A fake BackendSrv answering fetch() by URL path: `answers` maps a path (with the
 * query string removed) to a body, or to a status and body; unknown paths answer
 * 404 like Graft's API does. Every request is recorded in `requests`.
 */
export function fakeBackend(answers: Record<string, unknown | Answer>) {
  const requests: BackendSrvRequest[] = [];
  const fetch = jest.fn((options: BackendSrvRequest): Observable<FetchResponse<unknown>> => {
    requests.push(options);
    const path = options.url.split('?')[0];
    const found = answers[path];
    const answer: Answer =
      found === undefined
        ? { status: 404, body: { status: 'error', errorType: 'not_found', error: `unknown API endpoint ${path}` } }
        : isAnswer(found)
          ? found
          : { body: found };
    const status = answer.status ?? 200;
    if (status >= 400) {
      const error: FetchError = { status, data: answer.body, config: options };
      return throwError(() => error);
    }
    return of({
      data: answer.body,
      status,
      statusText: 'OK',
      ok: true,
      headers: new Headers(),
      redirected: false,
      type: 'basic',
      url: options.url,
      config: options,
    });
  });
  setBackendSrv({ fetch } as unknown as BackendSrv);
  return { fetch, requests };
}

function isAnswer(value: unknown): value is Answer {
  return typeof value === 'object' && value !== null && 'body' in value;
}

/** A Prometheus API success envelope. */
export const success = <T>(data: T) => ({ status: 'success', data });

/** The query string parameters of a GET request. */
export function queryParams(request: BackendSrvRequest): Record<string, string> {
  return Object.fromEntries(new URL(request.url, 'http://grafana').searchParams.entries());
}
