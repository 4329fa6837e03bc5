import React, { ChangeEvent, FormEvent, useState } from 'react';
import { SelectableValue } from '@grafana/data';
import { ConfigSubSection } from '@grafana/plugin-ui';
import { PROM_CONFIG_LABEL_WIDTH, PrometheusCacheLevel } from '@grafana/prometheus';
import { InlineField, InlineSwitch, Input, RadioButtonGroup, Stack } from '@grafana/ui';

import { GraftOptions } from '../../types';
import { ConfigProps, updateJsonData } from './props';

type DefaultEditor = NonNullable<GraftOptions['defaultEditor']>;
type BooleanKey = 'disableMetricsLookup' | 'seriesEndpoint' | 'disableRecordingRules';

// @grafana/prometheus exports its QueryEditorMode enum as a type only: its values are these strings.
const BUILDER = 'builder' as DefaultEditor;
const CODE = 'code' as DefaultEditor;

export const EDITOR_OPTIONS: Array<SelectableValue<DefaultEditor>> = [
  { label: 'Builder', value: BUILDER },
  { label: 'Code', value: CODE },
];

export const CACHE_LEVEL_OPTIONS: Array<SelectableValue<PrometheusCacheLevel>> = [
  { label: 'Low', value: PrometheusCacheLevel.Low, description: 'Cache label and metric names for 1 minute' },
  { label: 'Medium', value: PrometheusCacheLevel.Medium, description: 'Cache label and metric names for 10 minutes' },
  { label: 'High', value: PrometheusCacheLevel.High, description: 'Cache label and metric names for 1 hour' },
  { label: 'None', value: PrometheusCacheLevel.None, description: 'No caching' },
];

export const HTTP_METHOD_OPTIONS: Array<SelectableValue<string>> = [
  { label: 'POST', value: 'POST', description: 'Carries long selectors; the default' },
  { label: 'GET', value: 'GET' },
];

// The Prometheus datasource's default limit of label, value and series lookups.
const DEFAULT_SERIES_LIMIT = 40000;
const SERIES_LIMIT_PATTERN = /^\d+$/;

/**
 * How the code editor, query builder, metrics browser and variable editor look up
 * metrics and labels: the Prometheus datasource's settings that apply to Graft.
 */
export function QueryEditorSettings(props: ConfigProps) {
  const { jsonData, readOnly } = props.options;
  const onSwitch = (key: BooleanKey) => (event: FormEvent<HTMLInputElement>) =>
    updateJsonData(props, { [key]: event.currentTarget.checked });

  // The text as typed: an invalid limit stays visible (and flagged) instead of being stored.
  const [seriesLimit, setSeriesLimit] = useState(jsonData.seriesLimit?.toString() ?? '');
  const invalidSeriesLimit = seriesLimit.trim() !== '' && !SERIES_LIMIT_PATTERN.test(seriesLimit.trim());
  const onSeriesLimit = (event: ChangeEvent<HTMLInputElement>) => {
    const text = event.currentTarget.value;
    setSeriesLimit(text);
    if (text.trim() === '') {
      updateJsonData(props, { seriesLimit: undefined });
    } else if (SERIES_LIMIT_PATTERN.test(text.trim())) {
      updateJsonData(props, { seriesLimit: Number(text.trim()) });
    }
  };

  return (
    <ConfigSubSection title="Query editor">
      <Stack direction="column" gap={0.5}>
        <InlineField
          label="Default editor"
          labelWidth={PROM_CONFIG_LABEL_WIDTH}
          tooltip="The editor a new query opens in, for every user of this data source."
          disabled={readOnly}
        >
          <RadioButtonGroup<DefaultEditor>
            options={EDITOR_OPTIONS}
            value={jsonData.defaultEditor ?? BUILDER}
            onChange={(defaultEditor) => updateJsonData(props, { defaultEditor })}
          />
        </InlineField>
        <InlineField
          label="Disable metrics lookup"
          labelWidth={PROM_CONFIG_LABEL_WIDTH}
          tooltip="Turns off the metrics browser and the metric and label suggestions of the editor."
          disabled={readOnly}
        >
          <InlineSwitch
            id="graft-config-disable-metrics-lookup"
            value={jsonData.disableMetricsLookup ?? false}
            onChange={onSwitch('disableMetricsLookup')}
          />
        </InlineField>
        <InlineField
          label="Cache level"
          labelWidth={PROM_CONFIG_LABEL_WIDTH}
          tooltip="How long the editor caches label and metric names. Higher levels suit many series."
          disabled={readOnly}
        >
          <RadioButtonGroup<PrometheusCacheLevel>
            options={CACHE_LEVEL_OPTIONS}
            value={jsonData.cacheLevel ?? PrometheusCacheLevel.Low}
            onChange={(cacheLevel) => updateJsonData(props, { cacheLevel })}
          />
        </InlineField>
        <InlineField
          label="Series limit"
          labelWidth={PROM_CONFIG_LABEL_WIDTH}
          tooltip={`Most metrics, labels and values one lookup returns. Empty means ${DEFAULT_SERIES_LIMIT}; 0 means no limit.`}
          invalid={invalidSeriesLimit}
          error="Use a whole number, 0 for no limit"
          disabled={readOnly}
        >
          <Input
            id="graft-config-series-limit"
            width={20}
            placeholder={String(DEFAULT_SERIES_LIMIT)}
            value={seriesLimit}
            onChange={onSeriesLimit}
          />
        </InlineField>
        <InlineField
          label="Use series endpoint"
          labelWidth={PROM_CONFIG_LABEL_WIDTH}
          tooltip="Look up label values with /api/v1/series (which takes POST) instead of /api/v1/label/<name>/values."
          disabled={readOnly}
        >
          <InlineSwitch
            id="graft-config-series-endpoint"
            value={jsonData.seriesEndpoint ?? false}
            onChange={onSwitch('seriesEndpoint')}
          />
        </InlineField>
        <InlineField
          label="Disable recording rules"
          labelWidth={PROM_CONFIG_LABEL_WIDTH}
          tooltip="Do not load the recording rules of graft.yml, which the editor offers to expand into their expressions."
          disabled={readOnly}
        >
          <InlineSwitch
            id="graft-config-disable-recording-rules"
            value={jsonData.disableRecordingRules ?? false}
            onChange={onSwitch('disableRecordingRules')}
          />
        </InlineField>
        <InlineField
          label="HTTP method"
          labelWidth={PROM_CONFIG_LABEL_WIDTH}
          tooltip="Method of the editor's lookups (labels, series, variable queries). Panel queries always go through Grafana's query API."
          disabled={readOnly}
        >
          <RadioButtonGroup<string>
            options={HTTP_METHOD_OPTIONS}
            value={jsonData.httpMethod === 'GET' ? 'GET' : 'POST'}
            onChange={(httpMethod) => updateJsonData(props, { httpMethod })}
          />
        </InlineField>
      </Stack>
    </ConfigSubSection>
  );
}
