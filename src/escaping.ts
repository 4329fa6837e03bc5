/**
 * Template-variable escaping with the same results as the Prometheus datasource
 * (its interpolateQueryExpr, with the `prometheusSpecialCharsInLabelValues` toggle off).
 *
 * Values end up inside PromQL string literals, so a regex metacharacter is
 * preceded by a double backslash: `\\.` in the PromQL source is `\.` for RE2.
 */

/** The part of a variable model the escaping depends on. */
export interface InterpolationVariable {
  multi?: boolean;
  includeAll?: boolean;
}

const REGEX_METACHARACTERS = /[$^*{}\[\]+?.()|]/g;

/** Escape a single-value variable: backslashes and single quotes only. */
export function promRegularEscape<T>(value: T): T | string {
  if (typeof value !== 'string') {
    return value;
  }
  return value.replace(/\\/g, '\\\\').replace(/'/g, "\\\\'");
}

/** Escape one value of a multi-value (or "All") variable so it matches literally inside `=~"..."`. */
export function promRegexEscape<T>(value: T): T | string {
  if (typeof value !== 'string') {
    return value;
  }
  return value.replace(/\\/g, '\\\\\\\\').replace(REGEX_METACHARACTERS, '\\\\$&');
}

/**
 * Format function for getTemplateSrv().replace():
 * single-value variables are escaped as plain strings; multi-value and
 * "include All" variables become a regex alternation `(a|b)` of escaped values.
 */
export function interpolateQueryExpr(
  value: string | string[] | undefined = [],
  variable: InterpolationVariable | undefined
): string | string[] {
  if (!variable?.multi && !variable?.includeAll) {
    if (Array.isArray(value)) {
      return value.map((v) => promRegularEscape(v));
    }
    return promRegularEscape(value);
  }
  if (typeof value === 'string') {
    return promRegexEscape(value);
  }
  const escaped = value.map((v) => promRegexEscape(v));
  if (escaped.length === 1) {
    return escaped[0];
  }
  return '(' + escaped.join('|') + ')';
}

/** Escape a label value for an exact matcher (`label="value"`). */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}
