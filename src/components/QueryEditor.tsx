import React, { ChangeEvent, KeyboardEvent, useRef } from 'react';
import { css } from '@emotion/css';
import { GrafanaTheme2, QueryEditorProps, SelectableValue } from '@grafana/data';
import {
  Combobox,
  ComboboxOption,
  InlineField,
  InlineFieldRow,
  InlineSwitch,
  Input,
  RadioButtonGroup,
  Stack,
  TextArea,
  useStyles2,
} from '@grafana/ui';

import { DataSource } from '../datasource';
import { GraftOptions, GraftQuery, GraftQueryFormat } from '../types';

type Props = QueryEditorProps<DataSource, GraftQuery, GraftOptions>;

export type QueryType = 'range' | 'instant' | 'both';

export const FORMAT_OPTIONS: Array<ComboboxOption<GraftQueryFormat>> = [
  { label: 'Time series', value: 'time_series' },
  { label: 'Table', value: 'table' },
  { label: 'Heatmap', value: 'heatmap', description: 'Histogram buckets as a heatmap (le label)' },
];

export const TYPE_OPTIONS: Array<SelectableValue<QueryType>> = [
  { label: 'Range', value: 'range', description: 'A series of points over the time range' },
  { label: 'Instant', value: 'instant', description: 'One point per series, at the end of the time range' },
  { label: 'Both', value: 'both', description: 'Run both a range and an instant query' },
];

const LEGEND_TOOLTIP =
  'Series name override. Leave empty for Auto: the name is built from the series labels. ' +
  'Use {{label}} to insert a label value, e.g. "{{job}} on {{instance}}". Template variables are replaced.';

const STEP_TOOLTIP =
  'Lower bound for the step (resolution) of range queries, e.g. 30s or 1m. Also sets $__interval and $__rate_interval. ' +
  'Defaults to the scrape interval of the data source.';

// A duration (30s, 1m30s), optionally prefixed with ">" as in older dashboards, or a template variable.
const STEP_PATTERN = /^(>?(\d+(ms|s|m|h|d|w|y))+|\$\w+|\$\{\w+\})$/;

export function queryTypeOf(query: GraftQuery): QueryType {
  if (query.instant && query.range) {
    return 'both';
  }
  return query.instant ? 'instant' : 'range';
}

export function QueryEditor({ query, onChange, onRunQuery, datasource }: Props) {
  const styles = useStyles2(getStyles);
  const lastRunExpr = useRef(query.expr ?? '');

  const expr = query.expr ?? '';
  const lines = expr.split('\n').length;

  const runQuery = (next: GraftQuery) => {
    lastRunExpr.current = next.expr ?? '';
    onRunQuery();
  };

  const onExprChange = (event: ChangeEvent<HTMLTextAreaElement>) => {
    onChange({ ...query, expr: event.currentTarget.value });
  };

  const onExprBlur = (event: React.FocusEvent<HTMLTextAreaElement>) => {
    const value = event.currentTarget.value;
    if (value !== lastRunExpr.current) {
      const next = { ...query, expr: value };
      onChange(next);
      runQuery(next);
    }
  };

  const onExprKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === 'Enter' && (event.shiftKey || event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      const next = { ...query, expr: event.currentTarget.value };
      onChange(next);
      runQuery(next);
    }
  };

  const onLegendChange = (event: ChangeEvent<HTMLInputElement>) => {
    onChange({ ...query, legendFormat: event.currentTarget.value });
  };

  const onIntervalChange = (event: ChangeEvent<HTMLInputElement>) => {
    onChange({ ...query, interval: event.currentTarget.value });
  };

  const onFormatChange = (option: ComboboxOption<GraftQueryFormat>) => {
    onChange({ ...query, format: option.value });
    onRunQuery();
  };

  const onTypeChange = (type: QueryType) => {
    onChange({ ...query, range: type !== 'instant', instant: type !== 'range' });
    onRunQuery();
  };

  const onExemplarChange = (event: React.FormEvent<HTMLInputElement>) => {
    onChange({ ...query, exemplar: event.currentTarget.checked });
    onRunQuery();
  };

  const interval = query.interval ?? '';

  return (
    <Stack direction="column" gap={1}>
      <TextArea
        aria-label="PromQL expression"
        data-testid="graft-query-expr"
        className={styles.code}
        rows={Math.min(Math.max(lines, 2), 12)}
        value={expr}
        placeholder="Enter a PromQL query, e.g. rate(http_requests_total[$__rate_interval]) (Shift+Enter to run)"
        spellCheck={false}
        onChange={onExprChange}
        onBlur={onExprBlur}
        onKeyDown={onExprKeyDown}
      />
      <InlineFieldRow>
        <InlineField label="Legend" labelWidth={10} tooltip={LEGEND_TOOLTIP} interactive>
          <Input
            id="graft-query-legend"
            aria-label="Legend format"
            placeholder="Auto"
            width={24}
            value={query.legendFormat ?? ''}
            onChange={onLegendChange}
            onBlur={onRunQuery}
          />
        </InlineField>
        <InlineField
          label="Min step"
          labelWidth={10}
          tooltip={STEP_TOOLTIP}
          invalid={!!interval && !STEP_PATTERN.test(interval)}
        >
          <Input
            id="graft-query-interval"
            aria-label="Min step"
            placeholder={datasource?.scrapeInterval ?? 'auto'}
            width={12}
            value={interval}
            onChange={onIntervalChange}
            onBlur={onRunQuery}
          />
        </InlineField>
        <InlineField label="Format" labelWidth={8}>
          <Combobox
            id="graft-query-format"
            options={FORMAT_OPTIONS}
            value={query.format ?? 'time_series'}
            onChange={onFormatChange}
            width={16}
          />
        </InlineField>
        <InlineField label="Type" labelWidth={6}>
          <RadioButtonGroup<QueryType>
            aria-label="Query type"
            options={TYPE_OPTIONS}
            value={queryTypeOf(query)}
            onChange={onTypeChange}
            size="sm"
          />
        </InlineField>
        <InlineField
          label="Exemplars"
          labelWidth={10}
          tooltip="Also fetch exemplars (e.g. trace ids) for the series of this query"
        >
          <InlineSwitch id="graft-query-exemplar" value={!!query.exemplar} onChange={onExemplarChange} />
        </InlineField>
      </InlineFieldRow>
    </Stack>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  code: css({
    fontFamily: theme.typography.fontFamilyMonospace,
    fontSize: theme.typography.bodySmall.fontSize,
  }),
});
