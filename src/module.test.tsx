import React from 'react';
import { CoreApp, dateTime, QueryEditorProps, TimeRange } from '@grafana/data';
import { PromCheatSheet, PrometheusVariableSupport, PromQueryEditorByApp } from '@grafana/prometheus';
import { fireEvent, render, screen } from '@testing-library/react';

import { ConfigEditor } from './components/ConfigEditor';
import { DataSource } from './datasource';
import { plugin } from './module';
import { fakeBackend, fakeTemplateSrv, instanceSettings, RESOURCES, success } from './test/helpers';
import { GraftOptions, GraftQuery } from './types';

// jsdom cannot run Monaco. The code editor gets it from @grafana/ui's ReactMonacoEditor
// (Grafana's own Monaco at runtime): a textarea stands in for it, showing the text and
// the language the editor was set up with.
jest.mock('@grafana/ui', () => ({
  ...jest.requireActual('@grafana/ui'),
  ReactMonacoEditor: (props: { value: string; language: string }) => (
    <textarea aria-label="Monaco editor" data-language={props.language} value={props.value} readOnly />
  ),
}));

const range: TimeRange = {
  from: dateTime(1700000000000),
  to: dateTime(1700003600000),
  raw: { from: 'now-1h', to: 'now' },
};

function renderQueryEditor(query: Partial<GraftQuery>, app = CoreApp.PanelEditor) {
  const datasource = new DataSource(instanceSettings({}), fakeTemplateSrv());
  const QueryEditor = plugin.components.QueryEditor!;
  const props: QueryEditorProps<DataSource, GraftQuery, GraftOptions> = {
    datasource,
    query: { refId: 'A', expr: '', ...query },
    onChange: jest.fn(),
    onRunQuery: jest.fn(),
    app,
    range,
  };
  render(<QueryEditor {...props} />);
  return props;
}

describe('plugin', () => {
  it('uses the Prometheus query editor, cheat sheet and Graft’s config editor', () => {
    expect(plugin.components.QueryEditor).toBe(PromQueryEditorByApp);
    expect(plugin.components.QueryEditorHelp).toBe(PromCheatSheet);
    expect(plugin.components.ConfigEditor).toBe(ConfigEditor);
  });
});

describe('query editor', () => {
  beforeEach(() => {
    fakeBackend({
      [`${RESOURCES}/api/v1/label/__name__/values`]: success(['http_requests_total', 'up']),
      [`${RESOURCES}/api/v1/labels`]: success(['__name__', 'instance', 'job']),
    });
  });

  it('opens an existing expression in the PromQL code editor', async () => {
    renderQueryEditor({ expr: 'rate(http_requests_total[5m])' });
    const editor = await screen.findByLabelText('Monaco editor');
    expect(editor).toHaveValue('rate(http_requests_total[5m])');
    expect(editor).toHaveAttribute('data-language', 'promql');
    expect(screen.getByRole('button', { name: /Metrics browser/ })).toBeInTheDocument();
    expect(screen.getByRole('radio', { name: 'Code' })).toBeChecked();
  });

  it('opens the metrics browser on metric and label names from the backend', async () => {
    const { requests } = fakeBackend({
      [`${RESOURCES}/api/v1/label/__name__/values`]: success(['http_requests_total', 'up']),
      [`${RESOURCES}/api/v1/labels`]: success(['__name__', 'instance', 'job']),
    });
    renderQueryEditor({ expr: 'up' });
    fireEvent.click(await screen.findByRole('button', { name: /Metrics browser/ }));
    expect(await screen.findByText('http_requests_total')).toBeInTheDocument();
    expect(await screen.findByText('instance')).toBeInTheDocument();
    const paths = requests.map((r) => r.url.split('?')[0]);
    expect(paths).toEqual(
      expect.arrayContaining([`${RESOURCES}/api/v1/label/__name__/values`, `${RESOURCES}/api/v1/labels`])
    );
  });

  it('opens a new query in the query builder, with the options of the Prometheus editor', async () => {
    renderQueryEditor({ expr: '' });
    expect(await screen.findByRole('radio', { name: 'Builder' })).toBeChecked();
    expect(screen.getByText('Metric')).toBeInTheDocument();
    expect(screen.getByText('Label filters')).toBeInTheDocument();
    expect(screen.getByText('Options')).toBeInTheDocument();
  });

  it('renders the alerting editor in alert rules', async () => {
    renderQueryEditor({ expr: 'up == 0' }, CoreApp.CloudAlerting);
    expect(await screen.findByLabelText('Monaco editor')).toHaveValue('up == 0');
    expect(screen.queryByRole('radio', { name: 'Builder' })).not.toBeInTheDocument();
  });
});

describe('variable editor', () => {
  it('is the Prometheus one, with its query types', async () => {
    fakeBackend({ [`${RESOURCES}/api/v1/labels`]: success(['job']) });
    const datasource = new DataSource(instanceSettings({}), fakeTemplateSrv());
    const variables = datasource.variables as PrometheusVariableSupport;
    const VariableEditor = variables.editor;
    render(
      <VariableEditor
        datasource={datasource}
        query={{ refId: 'V', query: 'label_values(job)' }}
        onChange={jest.fn()}
        onRunQuery={jest.fn()}
        range={range}
      />
    );
    expect(await screen.findByText('Label values')).toBeInTheDocument();
  });
});
