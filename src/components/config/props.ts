import { DataSourcePluginOptionsEditorProps } from '@grafana/data';

import { GraftOptions, GraftSecureJsonData } from '../../types';

export type ConfigProps = DataSourcePluginOptionsEditorProps<GraftOptions, GraftSecureJsonData>;

/** Apply a change to jsonData, keeping every other setting. */
export function updateJsonData({ options, onOptionsChange }: ConfigProps, patch: Partial<GraftOptions>) {
  onOptionsChange({ ...options, jsonData: { ...options.jsonData, ...patch } });
}

// Prometheus-style durations: 15s, 1m, 1m30s, 500ms.
const DURATION_PATTERN = /^(\d+(ms|s|m|h|d|w|y))+$/;

export const isInvalidDuration = (value?: string) => !!value && !DURATION_PATTERN.test(value);
