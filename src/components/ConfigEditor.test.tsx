import React from 'react';
import { DataSourceSettings } from '@grafana/data';
import { fireEvent, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';

import { GraftOptions, GraftSecureJsonData } from '../types';
import { ConfigEditor } from './ConfigEditor';

// The real picker needs Grafana's DataSourceSrv; a stand-in records its props and picks a fixed data source.
jest.mock('@grafana/runtime', () => ({
  ...jest.requireActual('@grafana/runtime'),
  DataSourcePicker: (props: {
    tracing?: boolean;
    current?: string | null;
    onChange: (ds: { uid: string }) => void;
  }) => (
    <button
      type="button"
      data-testid="datasource-picker"
      data-tracing={String(props.tracing)}
      data-current={props.current ?? ''}
      onClick={() => props.onChange({ uid: 'tempo-uid' })}
    >
      Pick data source
    </button>
  ),
}));

type Settings = DataSourceSettings<GraftOptions, GraftSecureJsonData>;

function settings(overrides: Partial<Settings> = {}): Settings {
  return {
    id: 1,
    uid: 'graft-uid',
    orgId: 1,
    name: 'Graft',
    type: 'graftlabs-graft-datasource',
    typeName: 'Graft',
    typeLogoUrl: '',
    access: 'proxy',
    url: '',
    user: '',
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- still a required field of DataSourceSettings
    database: '',
    basicAuth: false,
    basicAuthUser: '',
    isDefault: false,
    withCredentials: false,
    readOnly: false,
    jsonData: {},
    secureJsonFields: {},
    ...overrides,
  };
}

function setup(overrides: Partial<Settings> = {}) {
  const onOptionsChange = jest.fn();
  const options = settings(overrides);
  render(<ConfigEditor options={options} onOptionsChange={onOptionsChange} />);
  return { options, onOptionsChange };
}

const lastOptions = (fn: jest.Mock): Settings => fn.mock.calls[fn.mock.calls.length - 1][0];

describe('ConfigEditor', () => {
  it('explains that scraping and storage are configured in graft.yml', () => {
    setup();
    expect(screen.getByText(/configured in graft\.yml/)).toBeInTheDocument();
    expect(screen.getByText('[plugin.graftlabs-graft-datasource]')).toBeInTheDocument();
  });

  it('edits the scrape interval and query timeout in jsonData', () => {
    const { onOptionsChange } = setup({ jsonData: { queryTimeout: '30s' } });
    const scrape = screen.getByLabelText('Scrape interval');
    expect(scrape).toHaveAttribute('placeholder', '15s');

    fireEvent.change(scrape, { target: { value: '30s' } });
    expect(lastOptions(onOptionsChange).jsonData).toEqual({ queryTimeout: '30s', timeInterval: '30s' });

    fireEvent.change(screen.getByLabelText('Query timeout'), { target: { value: '2m' } });
    expect(lastOptions(onOptionsChange).jsonData).toEqual({ queryTimeout: '2m' });
  });

  it('flags an invalid scrape interval', () => {
    setup({ jsonData: { timeInterval: 'often' } });
    expect(screen.getByText('Use a duration such as 15s or 1m')).toBeInTheDocument();
  });

  describe('remote-write secrets', () => {
    it('shows a configured secret without its value and resets it', async () => {
      const { onOptionsChange } = setup({
        secureJsonFields: { remoteWriteBasicAuthPassword: true },
      });
      const password = screen.getByLabelText('Basic auth password');
      expect(password).toHaveValue('configured');
      expect(password).toBeDisabled();
      // the bearer token is not configured: it is an empty, editable field
      expect(screen.getByLabelText('Bearer token')).toHaveValue('');
      expect(screen.getByLabelText('Bearer token')).toBeEnabled();
      expect(screen.getAllByRole('button', { name: 'Reset' })).toHaveLength(1);

      await userEvent.click(screen.getByRole('button', { name: 'Reset' }));
      const next = lastOptions(onOptionsChange);
      expect(next.secureJsonFields.remoteWriteBasicAuthPassword).toBe(false);
      expect(next.secureJsonData?.remoteWriteBasicAuthPassword).toBe('');
      expect(next.jsonData).toEqual({});
    });

    it('writes a new secret to secureJsonData only', () => {
      const { onOptionsChange } = setup();
      fireEvent.change(screen.getByLabelText('Bearer token'), { target: { value: 's3cret' } });
      const next = lastOptions(onOptionsChange);
      expect(next.secureJsonData).toEqual({ remoteWriteBearerToken: 's3cret' });
      expect(JSON.stringify(next.jsonData)).not.toContain('s3cret');
    });
  });

  describe('exemplar trace-id destinations', () => {
    it('adds a row', async () => {
      const { onOptionsChange } = setup({
        jsonData: { exemplarTraceIdDestinations: [{ name: 'traceID', datasourceUid: 'tempo' }] },
      });
      expect(screen.getAllByTestId('graft-exemplar-row')).toHaveLength(1);

      await userEvent.click(screen.getByRole('button', { name: /Add trace destination/ }));
      expect(lastOptions(onOptionsChange).jsonData.exemplarTraceIdDestinations).toEqual([
        { name: 'traceID', datasourceUid: 'tempo' },
        { name: 'trace_id' },
      ]);
    });

    it('removes a row', async () => {
      const { onOptionsChange } = setup({
        jsonData: {
          timeInterval: '10s',
          exemplarTraceIdDestinations: [
            { name: 'traceID', datasourceUid: 'tempo' },
            { name: 'trace_id', url: 'https://traces.example/${__value.raw}', urlDisplayLabel: 'Open' },
          ],
        },
      });
      const rows = screen.getAllByTestId('graft-exemplar-row');
      expect(rows).toHaveLength(2);

      await userEvent.click(within(rows[0]).getByRole('button', { name: /Remove trace destination/ }));
      expect(lastOptions(onOptionsChange).jsonData).toEqual({
        timeInterval: '10s',
        exemplarTraceIdDestinations: [
          { name: 'trace_id', url: 'https://traces.example/${__value.raw}', urlDisplayLabel: 'Open' },
        ],
      });
    });

    it('uses a tracing data source picker for internal links', async () => {
      const { onOptionsChange } = setup({
        jsonData: { exemplarTraceIdDestinations: [{ name: 'traceID', datasourceUid: 'old' }] },
      });
      const picker = screen.getByTestId('datasource-picker');
      expect(picker).toHaveAttribute('data-tracing', 'true');
      expect(picker).toHaveAttribute('data-current', 'old');

      await userEvent.click(picker);
      expect(lastOptions(onOptionsChange).jsonData.exemplarTraceIdDestinations).toEqual([
        { name: 'traceID', datasourceUid: 'tempo-uid' },
      ]);
    });

    it('shows URL fields for external links and edits them', () => {
      const { onOptionsChange } = setup({
        jsonData: { exemplarTraceIdDestinations: [{ name: 'trace_id', url: 'https://a/${__value.raw}' }] },
      });
      expect(screen.queryByTestId('datasource-picker')).not.toBeInTheDocument();
      expect(screen.getByLabelText('URL')).toHaveValue('https://a/${__value.raw}');

      fireEvent.change(screen.getByLabelText('URL label'), { target: { value: 'View trace' } });
      expect(lastOptions(onOptionsChange).jsonData.exemplarTraceIdDestinations).toEqual([
        { name: 'trace_id', url: 'https://a/${__value.raw}', urlDisplayLabel: 'View trace' },
      ]);
    });

    it('switches a row from internal to external link', async () => {
      const { onOptionsChange } = setup({
        jsonData: { exemplarTraceIdDestinations: [{ name: 'trace_id', datasourceUid: 'tempo' }] },
      });
      await userEvent.click(screen.getByLabelText('Internal link'));
      const [row] = lastOptions(onOptionsChange).jsonData.exemplarTraceIdDestinations!;
      expect(row.datasourceUid).toBeUndefined();
      expect(row.url).toBe('');
    });
  });
});
