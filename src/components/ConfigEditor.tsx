import React from 'react';
import { ConfigSection } from '@grafana/plugin-ui';
import { ExemplarsSettings, ExemplarTraceIdDestination } from '@grafana/prometheus';
import { Alert, Stack } from '@grafana/ui';

import { IntervalSettings } from './config/IntervalSettings';
import { ConfigProps, updateJsonData } from './config/props';
import { QueryEditorSettings } from './config/QueryEditorSettings';
import { RemoteWriteSecrets } from './config/RemoteWriteSecrets';

export type Props = ConfigProps;

/**
 * Graft's settings with the Prometheus datasource's sections that apply to it.
 * There is no connection section (URL, authentication, TLS): Graft's core runs
 * inside the plugin, and what it scrapes and stores is configured in graft.yml.
 */
export function ConfigEditor(props: Props) {
  const { options } = props;
  const onExemplarsChange = (exemplarTraceIdDestinations: ExemplarTraceIdDestination[]) =>
    updateJsonData(props, { exemplarTraceIdDestinations });

  return (
    <Stack direction="column" gap={2}>
      <Alert severity="info" title="Scraping and storage are configured in graft.yml">
        Graft runs its own scraper, TSDB and rule evaluator inside this data source: there is no server URL to enter.
        Scrape targets, retention, recording and alerting rules are read from a graft.yml file whose path is set by{' '}
        <code>config_file</code> in the <code>[plugin.graftlabs-graft-datasource]</code> section of grafana.ini. The
        settings below only affect how Grafana queries the embedded store.
      </Alert>
      <ConfigSection title="Queries" description="How panels, the query editor and variables query Graft.">
        <IntervalSettings {...props} />
        <QueryEditorSettings {...props} />
        <ExemplarsSettings
          options={options.jsonData.exemplarTraceIdDestinations}
          onChange={onExemplarsChange}
          disabled={options.readOnly}
        />
      </ConfigSection>
      <RemoteWriteSecrets {...props} />
    </Stack>
  );
}
