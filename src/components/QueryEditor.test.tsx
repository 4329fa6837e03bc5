import React from 'react';
import { fireEvent, render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';

import { DataSource } from '../datasource';
import { instanceSettings } from '../test/helpers';
import { GraftQuery } from '../types';
import { QueryEditor } from './QueryEditor';

const baseQuery: GraftQuery = {
  refId: 'A',
  expr: 'up',
  legendFormat: '',
  range: true,
  instant: false,
  format: 'time_series',
  exemplar: false,
};

function setup(query: Partial<GraftQuery> = {}) {
  const onChange = jest.fn();
  const onRunQuery = jest.fn();
  const datasource = new DataSource(instanceSettings({ timeInterval: '30s' }));
  const props = { datasource, onChange, onRunQuery, query: { ...baseQuery, ...query } };
  const utils = render(<QueryEditor {...props} />);
  const expr = screen.getByLabelText('PromQL expression') as HTMLTextAreaElement;
  return { ...utils, props, onChange, onRunQuery, expr };
}

describe('QueryEditor', () => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('shows the expression and the legend, with Auto as the empty legend', () => {
    setup({ expr: 'rate(http_requests_total[5m])', legendFormat: '' });
    expect(screen.getByLabelText('PromQL expression')).toHaveValue('rate(http_requests_total[5m])');
    expect(screen.getByLabelText('Legend format')).toHaveValue('');
    expect(screen.getByLabelText('Legend format')).toHaveAttribute('placeholder', 'Auto');
  });

  it('uses the scrape interval as the min step placeholder', () => {
    setup();
    expect(screen.getByLabelText('Min step')).toHaveAttribute('placeholder', '30s');
  });

  it('calls onChange with the new expression when it is edited', () => {
    const { expr, onChange, onRunQuery } = setup();
    fireEvent.change(expr, { target: { value: 'sum(rate(x[5m]))' } });
    expect(onChange).toHaveBeenCalledWith({ ...baseQuery, expr: 'sum(rate(x[5m]))' });
    expect(onRunQuery).not.toHaveBeenCalled();
  });

  it('runs the query on Shift+Enter (and not on a plain Enter)', () => {
    const { expr, onChange, onRunQuery } = setup({ expr: 'up{job="api"}' });
    fireEvent.keyDown(expr, { key: 'Enter' });
    expect(onRunQuery).not.toHaveBeenCalled();

    fireEvent.keyDown(expr, { key: 'Enter', shiftKey: true });
    expect(onRunQuery).toHaveBeenCalledTimes(1);
    expect(onChange).toHaveBeenLastCalledWith({ ...baseQuery, expr: 'up{job="api"}' });
  });

  it('runs the query on blur when the expression changed since the last run', () => {
    const { expr, onRunQuery, rerender, props } = setup({ expr: 'up' });
    fireEvent.blur(expr);
    expect(onRunQuery).not.toHaveBeenCalled();

    rerender(<QueryEditor {...props} query={{ ...props.query, expr: 'up == 0' }} />);
    fireEvent.blur(screen.getByLabelText('PromQL expression'));
    expect(onRunQuery).toHaveBeenCalledTimes(1);
  });

  it('calls onChange with the legend format', async () => {
    const { onChange } = setup();
    fireEvent.change(screen.getByLabelText('Legend format'), { target: { value: '{{instance}}' } });
    expect(onChange).toHaveBeenCalledWith({ ...baseQuery, legendFormat: '{{instance}}' });
  });

  it('calls onChange with the min step', () => {
    const { onChange } = setup();
    fireEvent.change(screen.getByLabelText('Min step'), { target: { value: '1m' } });
    expect(onChange).toHaveBeenCalledWith({ ...baseQuery, interval: '1m' });
  });

  it('switches between range, instant and both', async () => {
    const { onChange, onRunQuery } = setup();
    await userEvent.click(screen.getByLabelText('Instant'));
    expect(onChange).toHaveBeenLastCalledWith({ ...baseQuery, range: false, instant: true });
    await userEvent.click(screen.getByLabelText('Both'));
    expect(onChange).toHaveBeenLastCalledWith({ ...baseQuery, range: true, instant: true });
    expect(onRunQuery).toHaveBeenCalledTimes(2);
  });

  it('toggles exemplars', async () => {
    const { onChange, onRunQuery } = setup();
    await userEvent.click(screen.getByLabelText('Exemplars'));
    expect(onChange).toHaveBeenCalledWith({ ...baseQuery, exemplar: true });
    expect(onRunQuery).toHaveBeenCalled();
  });

  it('selects the format', async () => {
    // The Combobox menu is virtualised: give elements a size so that jsdom renders its options.
    jest.spyOn(Element.prototype, 'clientHeight', 'get').mockReturnValue(120);
    jest.spyOn(Element.prototype, 'clientWidth', 'get').mockReturnValue(120);
    const { onChange, onRunQuery } = setup();
    const format = screen.getByLabelText('Format');
    expect(format).toHaveValue('Time series');
    await userEvent.click(format);
    await userEvent.click(await screen.findByRole('option', { name: /Table/ }));
    expect(onChange).toHaveBeenCalledWith({ ...baseQuery, format: 'table' });
    expect(onRunQuery).toHaveBeenCalled();
  });
});
