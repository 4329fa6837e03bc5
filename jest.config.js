// force timezone to UTC to allow tests to work regardless of local timezone
// generally used by snapshots, but can affect specific tests
process.env.TZ = 'UTC';

const baseConfig = require('./.config/jest.config');
const { grafanaESModules, nodeModulesToTransform } = require('./.config/jest/utils');

// Some ESM-only dependencies of the Grafana packages (e.g. d3-color 3.1.1) ship
// their entry point as .mjs: let the standard SWC transform handle .mjs as well.
const [[, swcTransform]] = Object.entries(baseConfig.transform);

module.exports = {
  // Jest configuration provided by Grafana scaffolding
  ...baseConfig,
  transform: {
    '^.+\\.(t|j)sx?$': swcTransform,
    '^.+\\.mjs$': swcTransform,
  },
  // monaco-promql (imported by @grafana/prometheus's code editor) is published as ES modules only.
  transformIgnorePatterns: [nodeModulesToTransform([...grafanaESModules, 'monaco-promql'])],
};
