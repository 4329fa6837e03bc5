{
  _config+:: {
    nodeExporterSelector: 'job="node"',
    fsSpaceFillingUpCriticalThreshold: 5,
    cpuHighThreshold: 90,
    rateInterval: '5m',
  },
}
