import React, { ChangeEvent } from 'react';
import { ConfigSubSection } from '@grafana/plugin-ui';
import { PROM_CONFIG_LABEL_WIDTH } from '@grafana/prometheus';
import { InlineField, Input, Stack } from '@grafana/ui';

import { DEFAULT_SCRAPE_INTERVAL } from '../../types';
import { ConfigProps, isInvalidDuration, updateJsonData } from './props';

/** Scrape interval and query timeout: both are read by Graft's backend as well as by the editor. */
export function IntervalSettings(props: ConfigProps) {
  const { jsonData, readOnly } = props.options;
  const onChange = (key: 'timeInterval' | 'queryTimeout') => (event: ChangeEvent<HTMLInputElement>) =>
    updateJsonData(props, { [key]: event.currentTarget.value });

  return (
    <ConfigSubSection title="Interval behaviour">
      <Stack direction="column" gap={0.5}>
        <InlineField
          label="Scrape interval"
          labelWidth={PROM_CONFIG_LABEL_WIDTH}
          tooltip="The scrape interval of the targets in graft.yml. The lowest step of queries, and the base of $__rate_interval. Default 15s."
          invalid={isInvalidDuration(jsonData.timeInterval)}
          error="Use a duration such as 15s or 1m"
          disabled={readOnly}
        >
          <Input
            id="graft-config-time-interval"
            width={20}
            placeholder={DEFAULT_SCRAPE_INTERVAL}
            value={jsonData.timeInterval ?? ''}
            onChange={onChange('timeInterval')}
          />
        </InlineField>
        <InlineField
          label="Query timeout"
          labelWidth={PROM_CONFIG_LABEL_WIDTH}
          tooltip="Maximum time a PromQL query may run before it is cancelled. Default 2m."
          invalid={isInvalidDuration(jsonData.queryTimeout)}
          error="Use a duration such as 60s or 2m"
          disabled={readOnly}
        >
          <Input
            id="graft-config-query-timeout"
            width={20}
            placeholder="2m"
            value={jsonData.queryTimeout ?? ''}
            onChange={onChange('queryTimeout')}
          />
        </InlineField>
      </Stack>
    </ConfigSubSection>
  );
}
