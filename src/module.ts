import { DataSourcePlugin } from '@grafana/data';
import { PromCheatSheet, PromQueryEditorByApp } from '@grafana/prometheus';

import { ConfigEditor } from './components/ConfigEditor';
import { DataSource } from './datasource';
import { GraftOptions, GraftQuery, GraftSecureJsonData } from './types';

// The variable editor (PromVariableQueryEditor) and the annotation editor come with
// the datasource: PrometheusDatasource sets its `variables` and `annotations` support.
export const plugin = new DataSourcePlugin<DataSource, GraftQuery, GraftOptions, GraftSecureJsonData>(DataSource)
  .setQueryEditor(PromQueryEditorByApp)
  .setConfigEditor(ConfigEditor)
  .setQueryEditorHelp(PromCheatSheet);
