{ grafanaDashboards: { "x.json": error "broken on purpose" } }
