import { AdHocVariableFilter } from '@grafana/data';

import { GraftAdHocFilter } from './types';

// RE2 metacharacters: a value of a multi-value filter must match literally inside a regex.
const RE2_METACHARACTERS = /[*+?()|\\.\[\]{}^$]/g;

function escapeRegex(value: string): string {
  return value.replace(RE2_METACHARACTERS, '\\$&');
}

/**
 * The dashboard's ad-hoc filters as the PromQL label matchers Graft's backend
 * adds to every selector (=, !=, =~, !~). The multi-value operators (=| and !=|)
 * become a regex alternation of the escaped values. Values are raw strings and
 * regexes, not PromQL string literals: the backend builds the matchers itself,
 * so nothing is escaped for a string literal. Operators PromQL has no matcher
 * for (<, >) select nothing and are left out.
 */
export function toGraftAdHocFilters(filters?: AdHocVariableFilter[]): GraftAdHocFilter[] {
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
        const values = filter.values?.length ? filter.values : [filter.value ?? ''];
        result.push({
          key: filter.key,
          operator: filter.operator === '=|' ? '=~' : '!~',
          value: values.map(escapeRegex).join('|'),
        });
        break;
      }
      default:
        break;
    }
  }
  return result;
}
