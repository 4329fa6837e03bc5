package monitoring

import "fmt"

// dashboardProvider is Grafana's dashboards provider for the generated
// dashboards. GRAFT_PROVISIONING is the absolute path of the provisioning
// folder (Grafana expands environment variables in provisioning files).
const dashboardProvider = generatedBy + `# Grafana dashboards provider for the dashboards Graft ships in this folder.
# GRAFT_PROVISIONING is the absolute path of this provisioning/ folder.
apiVersion: 1
providers:
  - name: graft
    folder: Graft
    type: file
    disableDeletion: false
    allowUiUpdates: false
    updateIntervalSeconds: 30
    options:
      path: ${GRAFT_PROVISIONING}/dashboards
      foldersFromFilesStructure: false
`

// datasourceFile provisions the Graft datasource under the uid the
// dashboards and alert rules use. Exemplars whose trace_id label holds a
// trace link to the tracing datasource named by GRAFT_TRACES_DATASOURCE_UID.
func datasourceFile(o Options) []byte {
	return []byte(fmt.Sprintf(generatedBy+`# Grafana datasource provisioning for Graft.
apiVersion: 1
datasources:
  - name: Graft
    type: %s
    uid: %s
    access: proxy
    isDefault: true
    editable: true
    jsonData:
      # The scrape interval of graft.yml: the minimum step and the base of
      # $__rate_interval.
      timeInterval: 15s
      exemplarTraceIdDestinations:
        - name: trace_id
          datasourceUid: ${GRAFT_TRACES_DATASOURCE_UID}
`, DatasourceType, o.DatasourceUID))
}
