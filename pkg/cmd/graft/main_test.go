package main

import (
	"io"
	"testing"
)

func TestParseFlagsUsesPrometheusNames(t *testing.T) {
	f, err := parseFlags([]string{
		"--config.file=g.yml", "--web.listen-address=127.0.0.1:1", "--storage.tsdb.path=/d",
		"--web.enable-lifecycle", "--web.enable-admin-api", "--log.level=debug",
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if f.configFile != "g.yml" || f.listenAddress != "127.0.0.1:1" || f.dataDir != "/d" || !f.enableLifecycle || !f.enableAdminAPI || f.logLevel != "debug" {
		t.Fatalf("flags = %+v", f)
	}
	def, err := parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if def.configFile != "" || def.listenAddress != "" || def.dataDir != "data/" || def.enableAdminAPI {
		t.Errorf("defaults = %+v", def)
	}
	if _, err := parseFlags([]string{"--no.such.flag"}, io.Discard); err == nil {
		t.Error("unknown flag accepted")
	}
	if _, err := parseFlags([]string{"stray"}, io.Discard); err == nil {
		t.Error("stray argument accepted")
	}
}

func TestRunRefusesBadLogLevelAndConfig(t *testing.T) {
	if err := run([]string{"--log.level=loud"}); err == nil {
		t.Error("bad log level accepted")
	}
	if err := run([]string{"--config.file=/nonexistent/graft.yml"}); err == nil {
		t.Error("missing config file accepted")
	}
}
