import { toGraftAdHocFilters } from './adhocFilters';

describe('toGraftAdHocFilters', () => {
  it('keeps the four PromQL matchers with raw values', () => {
    expect(
      toGraftAdHocFilters([
        { key: 'job', operator: '=', value: 'api' },
        { key: 'path', operator: '!=', value: String.raw`C:\dir "x"` },
        { key: 'instance', operator: '=~', value: 'a.+' },
        { key: 'zone', operator: '!~', value: 'eu-.*' },
      ])
    ).toEqual([
      { key: 'job', operator: '=', value: 'api' },
      { key: 'path', operator: '!=', value: String.raw`C:\dir "x"` },
      { key: 'instance', operator: '=~', value: 'a.+' },
      { key: 'zone', operator: '!~', value: 'eu-.*' },
    ]);
  });

  it('turns multi-value filters into alternations of literally matching values', () => {
    expect(
      toGraftAdHocFilters([
        { key: 'env', operator: '=|', value: 'a.b', values: ['a.b', 'c(d)', String.raw`e\f`] },
        { key: 'env', operator: '!=|', value: 'x+y', values: [] },
      ])
    ).toEqual([
      { key: 'env', operator: '=~', value: String.raw`a\.b|c\(d\)|e\\f` },
      { key: 'env', operator: '!~', value: String.raw`x\+y` },
    ]);
  });

  it('leaves out filters PromQL cannot express and filters without a key', () => {
    expect(
      toGraftAdHocFilters([
        { key: 'size', operator: '<', value: '3' },
        { key: 'size', operator: '>', value: '1' },
        { key: '', operator: '=', value: 'x' },
      ])
    ).toEqual([]);
    expect(toGraftAdHocFilters(undefined)).toEqual([]);
  });
});
