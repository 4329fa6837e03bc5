import { DataSourcePlugin } from '@grafana/data';

import { ConfigEditor } from './components/ConfigEditor';
import { QueryEditor } from './components/QueryEditor';
import { DataSource } from './datasource';
import { GraftOptions, GraftQuery, GraftSecureJsonData } from './types';

export const plugin = new DataSourcePlugin<DataSource, GraftQuery, GraftOptions, GraftSecureJsonData>(DataSource)
  .setConfigEditor(ConfigEditor)
  .setQueryEditor(QueryEditor);
