// Package graft holds what the whole repository shares at its root: the
// default configuration, embedded so that a bare binary runs without files.
package graft

import _ "embed"

// DefaultConfig is provisioning/graft.yml, the configuration used when none
// is given.
//
//go:embed provisioning/graft.yml
var DefaultConfig []byte
