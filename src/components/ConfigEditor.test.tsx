import React from 'react';
import { DataSourceSettings } from '@grafana/data';
import { fireEvent, render, screen } from '@testing-library/react';

import { GraftOptions, GraftSecureJsonData } from '../types';
import { ConfigEditor } from './ConfigEditor';

// Clicks are fireEvent rather than userEvent: userEvent also hovers, which opens the
// tooltips of every field on the way and makes these tests slow on a busy machine.

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
    expect(screen.getByText('config_file')).toBeInTheDocument();
  });

  it('has no connection, authentication or Prometheus server settings', () => {
    setup();
    for (const absent of [
      /^Connection$/,
      /Prometheus server URL/,
      /^Authentication/,
      /Incremental querying/,
      /Prometheus type/,
      /Custom query parameters/,
    ]) {
      expect(screen.queryByText(absent)).not.toBeInTheDocument();
    }
    expect(screen.queryByPlaceholderText(/localhost:9090/)).not.toBeInTheDocument();
    // No exemplar destination yet, so no URL field at all.
    expect(screen.queryByLabelText(/URL/)).not.toBeInTheDocument();
  });

  describe('intervals', () => {
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
  });

  describe('query editor settings', () => {
    it('defaults to the builder, POST and the Low cache level', () => {
      setup();
      expect(screen.getByRole('radio', { name: 'Builder' })).toBeChecked();
      expect(screen.getByRole('radio', { name: 'POST' })).toBeChecked();
      expect(screen.getByRole('radio', { name: 'Low' })).toBeChecked();
    });

    it('sets the default editor, the HTTP method and the cache level', () => {
      const { onOptionsChange } = setup({ jsonData: { timeInterval: '10s' } });
      fireEvent.click(screen.getByRole('radio', { name: 'Code' }));
      expect(lastOptions(onOptionsChange).jsonData).toEqual({ timeInterval: '10s', defaultEditor: 'code' });
      fireEvent.click(screen.getByRole('radio', { name: 'GET' }));
      expect(lastOptions(onOptionsChange).jsonData).toEqual({ timeInterval: '10s', httpMethod: 'GET' });
      fireEvent.click(screen.getByRole('radio', { name: 'High' }));
      expect(lastOptions(onOptionsChange).jsonData).toEqual({ timeInterval: '10s', cacheLevel: 'High' });
    });

    it.each([
      ['Disable metrics lookup', 'disableMetricsLookup'],
      ['Use series endpoint', 'seriesEndpoint'],
      ['Disable recording rules', 'disableRecordingRules'],
    ])('switches %s', (label, key) => {
      const { onOptionsChange } = setup();
      fireEvent.click(screen.getByLabelText(label));
      expect(lastOptions(onOptionsChange).jsonData).toEqual({ [key]: true });
    });

    it('stores a valid series limit, clears an empty one and flags an invalid one', () => {
      const { onOptionsChange } = setup({ jsonData: { seriesLimit: 100 } });
      const limit = screen.getByLabelText('Series limit');
      expect(limit).toHaveValue('100');

      fireEvent.change(limit, { target: { value: '0' } });
      expect(lastOptions(onOptionsChange).jsonData).toEqual({ seriesLimit: 0 });
      fireEvent.change(limit, { target: { value: '' } });
      expect(lastOptions(onOptionsChange).jsonData).toEqual({ seriesLimit: undefined });

      onOptionsChange.mockClear();
      fireEvent.change(limit, { target: { value: 'lots' } });
      expect(onOptionsChange).not.toHaveBeenCalled();
      expect(limit).toHaveValue('lots');
      expect(screen.getByText('Use a whole number, 0 for no limit')).toBeInTheDocument();
    });
  });

  describe('remote-write secrets', () => {
    it('shows a configured secret without its value and resets it', () => {
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

      fireEvent.click(screen.getByRole('button', { name: 'Reset' }));
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

  // The Prometheus datasource's exemplar section, fed from and written to jsonData.
  describe('exemplar trace-id destinations', () => {
    it('adds a destination', () => {
      const { onOptionsChange } = setup({
        jsonData: { exemplarTraceIdDestinations: [{ name: 'trace_id', datasourceUid: 'tempo' }] },
      });
      fireEvent.click(screen.getByTestId('data-testid Add exemplar config button'));
      expect(lastOptions(onOptionsChange).jsonData.exemplarTraceIdDestinations).toEqual([
        { name: 'trace_id', datasourceUid: 'tempo' },
        { name: 'traceID' },
      ]);
    });

    it('removes a destination', () => {
      const { onOptionsChange } = setup({
        jsonData: {
          timeInterval: '10s',
          exemplarTraceIdDestinations: [
            { name: 'trace_id', datasourceUid: 'tempo' },
            { name: 'trace_id', url: 'https://traces.example/${__value.raw}', urlDisplayLabel: 'Open' },
          ],
        },
      });
      const remove = screen.getAllByRole('button', { name: 'Remove exemplar link' });
      expect(remove).toHaveLength(2);
      fireEvent.click(remove[0]);
      expect(lastOptions(onOptionsChange).jsonData).toEqual({
        timeInterval: '10s',
        exemplarTraceIdDestinations: [
          { name: 'trace_id', url: 'https://traces.example/${__value.raw}', urlDisplayLabel: 'Open' },
        ],
      });
    });

    it('picks a tracing data source for an internal link', () => {
      const { onOptionsChange } = setup({
        jsonData: { exemplarTraceIdDestinations: [{ name: 'trace_id', datasourceUid: 'old' }] },
      });
      const picker = screen.getByTestId('datasource-picker');
      expect(picker).toHaveAttribute('data-tracing', 'true');
      expect(picker).toHaveAttribute('data-current', 'old');

      fireEvent.click(picker);
      expect(lastOptions(onOptionsChange).jsonData.exemplarTraceIdDestinations).toEqual([
        { name: 'trace_id', datasourceUid: 'tempo-uid', url: undefined },
      ]);
    });

    it('edits the URL of an external link', () => {
      const { onOptionsChange } = setup({
        jsonData: { exemplarTraceIdDestinations: [{ name: 'trace_id', url: 'https://a/${__value.raw}' }] },
      });
      expect(screen.queryByTestId('datasource-picker')).not.toBeInTheDocument();
      const url = screen.getByDisplayValue('https://a/${__value.raw}');

      fireEvent.change(url, { target: { value: 'https://b/${__value.raw}' } });
      expect(lastOptions(onOptionsChange).jsonData.exemplarTraceIdDestinations).toEqual([
        { name: 'trace_id', url: 'https://b/${__value.raw}', datasourceUid: undefined },
      ]);
    });
  });
});
