export const SOURCE_DIR = 'src';
export const DIST_DIR = 'dist';

// Graft: the plugin manifest lives at the repository root (shared with the Go
// backend build), not in src/. See getPluginJson / copyFilePatterns.
export const PLUGIN_JSON_PATH = 'plugin.json';
