import { DataSourceInstanceSettings, PluginType, ScopedVars } from '@grafana/data';
import { TemplateSrv } from '@grafana/runtime';

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
