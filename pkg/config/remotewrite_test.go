package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/units"

	"github.com/graftlabs/graft/pkg/config"
)

func TestRemoteWriteDefaultsAndBounds(t *testing.T) {
	c := load(t, `remote_write:
  - url: http://127.0.0.1:9009/api/v1/push
    name: mimir
    basic_auth: {username: u, password: secret}
    queue_config: {max_shards: 4, retry_on_http_429: true}
`)
	if len(c.Prometheus.RemoteWriteConfigs) != 1 || len(c.Warnings) != 0 {
		t.Fatalf("remote_write %d entries, warnings %q", len(c.Prometheus.RemoteWriteConfigs), c.Warnings)
	}
	rw := c.Graft.RemoteWrite
	if rw.MaxQueueBytes != config.DefaultMaxQueueBytes || rw.MaxQueueAge != config.DefaultMaxQueueAge {
		t.Fatalf("defaults: %+v", rw)
	}
	c = load(t, "graft:\n  remote_write:\n    max_queue_bytes: 64MiB\n    max_queue_age: 30m\n")
	if c.Graft.RemoteWrite.MaxQueueBytes != config.Bytes(64*units.MiB) || time.Duration(c.Graft.RemoteWrite.MaxQueueAge) != 30*time.Minute {
		t.Fatalf("parsed %+v", c.Graft.RemoteWrite)
	}
	if c = load(t, "graft:\n  remote_write:\n    max_queue_bytes: 2097152\n"); c.Graft.RemoteWrite.MaxQueueBytes != 2<<20 {
		t.Fatalf("plain bytes parsed as %d", c.Graft.RemoteWrite.MaxQueueBytes)
	}
}

func TestRemoteWriteRefusals(t *testing.T) {
	for name, tc := range map[string]struct{ yml, want string }{
		"remote write 2.0": {`remote_write:
  - url: http://127.0.0.1:9009/api/v1/push
    protobuf_message: io.prometheus.write.v2.Request
`, "remote write 1.0"},
		"sigv4": {`remote_write:
  - url: http://127.0.0.1:9009/api/v1/push
    sigv4: {region: eu-west-1}
`, "sigv4 authentication is not supported"},
		"tiny queue":   {"graft:\n  remote_write:\n    max_queue_bytes: 10KiB\n", "at least 1MiB"},
		"bad size":     {"graft:\n  remote_write:\n    max_queue_bytes: lots\n", `line 3: invalid size "lots"`},
		"unknown key":  {"graft:\n  remote_write:\n    max_queue_segments: 3\n", "max_queue_segments"},
		"negative age": {"graft:\n  remote_write:\n    max_queue_age: -1m\n", ""},
	} {
		t.Run(name, func(t *testing.T) {
			err := loadErr(t, tc.yml)
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not say %q", err, tc.want)
			}
		})
	}
}

func TestRemoteWriteMetadataConfigWarns(t *testing.T) {
	c := load(t, `remote_write:
  - url: http://127.0.0.1:9009/api/v1/push
    metadata_config: {send_interval: 2m}
`)
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "metadata_config is ignored") {
		t.Fatalf("warnings %q", c.Warnings)
	}
}
