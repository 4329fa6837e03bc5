import React, { ChangeEvent } from 'react';
import { DataSourceInstanceSettings, DataSourcePluginOptionsEditorProps } from '@grafana/data';
import { DataSourcePicker } from '@grafana/runtime';
import {
  Alert,
  Button,
  Combobox,
  ComboboxOption,
  Divider,
  IconButton,
  InlineField,
  InlineFieldRow,
  InlineSwitch,
  Input,
  SecretInput,
  Stack,
  Text,
} from '@grafana/ui';

import { DEFAULT_SCRAPE_INTERVAL, ExemplarTraceIdDestination, GraftOptions, GraftSecureJsonData } from '../types';

export type Props = DataSourcePluginOptionsEditorProps<GraftOptions, GraftSecureJsonData>;

type SecureKey = keyof GraftSecureJsonData;

const LABEL_WIDTH = 26;

// Prometheus-style durations: 15s, 1m, 1m30s, 500ms.
const DURATION_PATTERN = /^(\d+(ms|s|m|h|d|w|y))+$/;

export const CACHE_LEVEL_OPTIONS: Array<ComboboxOption<string>> = [
  { label: 'Low', value: 'Low', description: 'Cache label and metric names for 1 minute' },
  { label: 'Medium', value: 'Medium', description: 'Cache label and metric names for 10 minutes' },
  { label: 'High', value: 'High', description: 'Cache label and metric names for 1 hour' },
  { label: 'None', value: 'None', description: 'No caching' },
];

const isInvalidDuration = (value?: string) => !!value && !DURATION_PATTERN.test(value);

export function ConfigEditor({ options, onOptionsChange }: Props) {
  const jsonData = options.jsonData ?? {};
  const secureJsonFields = options.secureJsonFields ?? {};
  const secureJsonData = (options.secureJsonData ?? {}) as GraftSecureJsonData;
  const destinations = jsonData.exemplarTraceIdDestinations ?? [];

  const updateJsonData = (patch: Partial<GraftOptions>) => {
    onOptionsChange({ ...options, jsonData: { ...jsonData, ...patch } });
  };

  const onJsonString = (key: 'timeInterval' | 'queryTimeout') => (event: ChangeEvent<HTMLInputElement>) => {
    updateJsonData({ [key]: event.currentTarget.value });
  };

  // Secrets are write-only: the value typed is sent once, afterwards only secureJsonFields[key] tells it is set.
  const onSecretChange = (key: SecureKey) => (event: ChangeEvent<HTMLInputElement>) => {
    onOptionsChange({
      ...options,
      secureJsonData: { ...secureJsonData, [key]: event.currentTarget.value },
    });
  };

  const onSecretReset = (key: SecureKey) => () => {
    onOptionsChange({
      ...options,
      secureJsonFields: { ...secureJsonFields, [key]: false },
      secureJsonData: { ...secureJsonData, [key]: '' },
    });
  };

  const setDestinations = (next: ExemplarTraceIdDestination[]) => {
    updateJsonData({ exemplarTraceIdDestinations: next });
  };

  const updateDestination = (index: number, patch: Partial<ExemplarTraceIdDestination>) => {
    setDestinations(destinations.map((d, i) => (i === index ? { ...d, ...patch } : d)));
  };

  const addDestination = () => {
    setDestinations([...destinations, { name: 'trace_id' }]);
  };

  const removeDestination = (index: number) => {
    setDestinations(destinations.filter((_, i) => i !== index));
  };

  return (
    <Stack direction="column" gap={2}>
      <Alert severity="info" title="Scraping and storage are configured in graft.yml">
        Graft runs its own scraper, TSDB, rule evaluator and remote write inside this data source. Scrape targets,
        retention, recording and alerting rules and remote-write endpoints are read from a graft.yml file whose path is
        set by <code>config_file</code> in the <code>[plugin.graftlabs-graft-datasource]</code> section of grafana.ini.
        The settings below only affect how Grafana queries the embedded store.
      </Alert>

      <Stack direction="column" gap={1}>
        <Text element="h3">Query</Text>
        <InlineField
          label="Scrape interval"
          labelWidth={LABEL_WIDTH}
          tooltip="The scrape interval of the targets in graft.yml. Used as the lowest step of queries and for $__rate_interval. Default 15s."
          invalid={isInvalidDuration(jsonData.timeInterval)}
          error="Use a duration such as 15s or 1m"
        >
          <Input
            id="graft-config-time-interval"
            width={20}
            placeholder={DEFAULT_SCRAPE_INTERVAL}
            value={jsonData.timeInterval ?? ''}
            onChange={onJsonString('timeInterval')}
          />
        </InlineField>
        <InlineField
          label="Query timeout"
          labelWidth={LABEL_WIDTH}
          tooltip="Maximum time a PromQL query may run before it is cancelled, e.g. 60s. Empty uses the backend default."
          invalid={isInvalidDuration(jsonData.queryTimeout)}
          error="Use a duration such as 60s or 2m"
        >
          <Input
            id="graft-config-query-timeout"
            width={20}
            placeholder="60s"
            value={jsonData.queryTimeout ?? ''}
            onChange={onJsonString('queryTimeout')}
          />
        </InlineField>
        <InlineField
          label="Editor cache level"
          labelWidth={LABEL_WIDTH}
          tooltip="How long label and metric names looked up for variables and ad-hoc filters may be cached."
        >
          <Combobox
            id="graft-config-cache-level"
            width={20}
            options={CACHE_LEVEL_OPTIONS}
            value={jsonData.cacheLevel ?? 'Low'}
            onChange={(option) => updateJsonData({ cacheLevel: option.value })}
          />
        </InlineField>
      </Stack>

      <Divider />

      <Stack direction="column" gap={1}>
        <Text element="h3">Exemplars</Text>
        <Text color="secondary" variant="bodySmall">
          Link trace ids found in exemplar labels to a tracing data source (internal link) or to an external URL. In
          URLs, ${'{'}__value.raw{'}'} is replaced with the trace id.
        </Text>
        {destinations.map((destination, index) => (
          <ExemplarDestinationRow
            key={index}
            index={index}
            destination={destination}
            onChange={(patch) => updateDestination(index, patch)}
            onRemove={() => removeDestination(index)}
          />
        ))}
        <div>
          <Button variant="secondary" icon="plus" size="sm" onClick={addDestination}>
            Add trace destination
          </Button>
        </div>
      </Stack>

      <Divider />

      <Stack direction="column" gap={1}>
        <Text element="h3">Remote write credentials</Text>
        <Text color="secondary" variant="bodySmall">
          Secrets for the remote_write endpoints declared in graft.yml. They are stored encrypted, only sent to the
          backend and never shown again.
        </Text>
        <InlineField label="Basic auth password" labelWidth={LABEL_WIDTH}>
          <SecretInput
            id="graft-config-rw-password"
            width={40}
            placeholder="Password"
            isConfigured={!!secureJsonFields.remoteWriteBasicAuthPassword}
            value={secureJsonData.remoteWriteBasicAuthPassword ?? ''}
            onChange={onSecretChange('remoteWriteBasicAuthPassword')}
            onReset={onSecretReset('remoteWriteBasicAuthPassword')}
          />
        </InlineField>
        <InlineField label="Bearer token" labelWidth={LABEL_WIDTH}>
          <SecretInput
            id="graft-config-rw-token"
            width={40}
            placeholder="Token"
            isConfigured={!!secureJsonFields.remoteWriteBearerToken}
            value={secureJsonData.remoteWriteBearerToken ?? ''}
            onChange={onSecretChange('remoteWriteBearerToken')}
            onReset={onSecretReset('remoteWriteBearerToken')}
          />
        </InlineField>
      </Stack>
    </Stack>
  );
}

interface RowProps {
  index: number;
  destination: ExemplarTraceIdDestination;
  onChange: (patch: Partial<ExemplarTraceIdDestination>) => void;
  onRemove: () => void;
}

function ExemplarDestinationRow({ index, destination, onChange, onRemove }: RowProps) {
  const internal = destination.datasourceUid !== undefined || destination.url === undefined;
  const id = `graft-config-exemplar-${index}`;

  const onInternalToggle = (event: React.FormEvent<HTMLInputElement>) => {
    if (event.currentTarget.checked) {
      onChange({ datasourceUid: destination.datasourceUid ?? '', url: undefined, urlDisplayLabel: undefined });
    } else {
      onChange({ datasourceUid: undefined, url: destination.url ?? '' });
    }
  };

  return (
    <InlineFieldRow data-testid="graft-exemplar-row">
      <InlineField label="Label name" labelWidth={14} tooltip="Exemplar label holding the trace id">
        <Input
          id={`${id}-name`}
          width={18}
          placeholder="trace_id"
          value={destination.name}
          onChange={(e: ChangeEvent<HTMLInputElement>) => onChange({ name: e.currentTarget.value })}
        />
      </InlineField>
      <InlineField label="Internal link">
        <InlineSwitch id={`${id}-internal`} value={internal} onChange={onInternalToggle} />
      </InlineField>
      {internal ? (
        <InlineField label="Data source" labelWidth={14}>
          <DataSourcePicker
            inputId={`${id}-datasource`}
            tracing={true}
            current={destination.datasourceUid || null}
            noDefault={true}
            width={30}
            onChange={(ds: DataSourceInstanceSettings) => onChange({ datasourceUid: ds.uid })}
          />
        </InlineField>
      ) : (
        <>
          <InlineField label="URL" labelWidth={8}>
            <Input
              id={`${id}-url`}
              width={40}
              placeholder="https://tracing.example.com/trace/${__value.raw}"
              value={destination.url ?? ''}
              onChange={(e: ChangeEvent<HTMLInputElement>) => onChange({ url: e.currentTarget.value })}
            />
          </InlineField>
          <InlineField label="URL label" labelWidth={12}>
            <Input
              id={`${id}-url-label`}
              width={20}
              placeholder="View trace"
              value={destination.urlDisplayLabel ?? ''}
              onChange={(e: ChangeEvent<HTMLInputElement>) => onChange({ urlDisplayLabel: e.currentTarget.value })}
            />
          </InlineField>
        </>
      )}
      <IconButton name="trash-alt" tooltip={`Remove trace destination ${index + 1}`} onClick={onRemove} />
    </InlineFieldRow>
  );
}
