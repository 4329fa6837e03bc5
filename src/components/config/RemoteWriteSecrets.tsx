import React, { ChangeEvent } from 'react';
import { ConfigSubSection } from '@grafana/plugin-ui';
import { PROM_CONFIG_LABEL_WIDTH } from '@grafana/prometheus';
import { InlineField, SecretInput, Stack } from '@grafana/ui';

import { GraftSecureJsonData } from '../../types';
import { ConfigProps } from './props';

type SecureKey = keyof GraftSecureJsonData;

/**
 * Secrets are write-only: a value typed here is sent once to Grafana, which stores it
 * encrypted and afterwards only reports, in secureJsonFields, that it is set.
 */
export function RemoteWriteSecrets({ options, onOptionsChange }: ConfigProps) {
  const secureJsonFields = options.secureJsonFields ?? {};
  const secureJsonData: GraftSecureJsonData = options.secureJsonData ?? {};

  const onChange = (key: SecureKey) => (event: ChangeEvent<HTMLInputElement>) => {
    onOptionsChange({ ...options, secureJsonData: { ...secureJsonData, [key]: event.currentTarget.value } });
  };

  const onReset = (key: SecureKey) => () => {
    onOptionsChange({
      ...options,
      secureJsonFields: { ...secureJsonFields, [key]: false },
      secureJsonData: { ...secureJsonData, [key]: '' },
    });
  };

  const secret = (key: SecureKey, id: string, placeholder: string) => (
    <SecretInput
      id={id}
      width={40}
      placeholder={placeholder}
      isConfigured={!!secureJsonFields[key]}
      value={secureJsonData[key] ?? ''}
      onChange={onChange(key)}
      onReset={onReset(key)}
    />
  );

  return (
    <ConfigSubSection
      title="Remote write credentials"
      description="Secrets for the remote_write endpoints declared in graft.yml, kept for when Graft sends remote write (it only receives it today). They are stored encrypted, only sent to the backend and never shown again."
    >
      <Stack direction="column" gap={0.5}>
        <InlineField label="Basic auth password" labelWidth={PROM_CONFIG_LABEL_WIDTH} disabled={options.readOnly}>
          {secret('remoteWriteBasicAuthPassword', 'graft-config-rw-password', 'Password')}
        </InlineField>
        <InlineField label="Bearer token" labelWidth={PROM_CONFIG_LABEL_WIDTH} disabled={options.readOnly}>
          {secret('remoteWriteBearerToken', 'graft-config-rw-token', 'Token')}
        </InlineField>
      </Stack>
    </ConfigSubSection>
  );
}
