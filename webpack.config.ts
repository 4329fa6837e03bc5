import path from 'path';
import webpack, { type Configuration } from 'webpack';
import { merge } from 'webpack-merge';

import grafanaConfig, { type Env } from './.config/webpack/webpack.config.ts';

// Graft's additions to the create-plugin webpack config (.config/ stays as scaffolded).
const config = async (env: Env): Promise<Configuration> => {
  const baseConfig = await grafanaConfig(env);
  return merge(baseConfig, {
    cache: {
      type: 'filesystem',
      buildDependencies: { config: [path.resolve(process.cwd(), 'webpack.config.ts')] },
    },
    plugins: [
      // Monaco is Grafana's: @grafana/prometheus's editor gets it at runtime through
      // @grafana/ui's ReactMonacoEditor. The only import of the package itself is in a
      // language loader of monaco-promql that the editor never calls (it registers
      // PromQL on Grafana's monaco instead), and it would put 3 MB of monaco into dist/.
      new webpack.IgnorePlugin({ resourceRegExp: /^monaco-editor$/ }),
    ],
    resolve: {
      alias: {
        // @grafana/prometheus only asks moment-timezone for a zone's UTC offset: see the shim.
        'moment-timezone$': path.resolve(process.cwd(), 'src/shims/momentTimezone.ts'),
      },
    },
  });
};

export default config;
