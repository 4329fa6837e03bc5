package config

import (
	"fmt"
	"reflect"
	"strconv"
	"time"

	"github.com/alecthomas/units"
	"github.com/prometheus/common/model"
	promconfig "github.com/prometheus/prometheus/config"
	"go.yaml.in/yaml/v3"
)

// RemoteWriteConfig is graft.remote_write: how much each remote_write
// endpoint may keep queued on disk while its receiver is slow or down.
// When a bound is reached the oldest queued samples are dropped (and
// counted in graft_remote_storage_samples_dropped_total).
type RemoteWriteConfig struct {
	// MaxQueueBytes bounds each endpoint's queue on disk.
	MaxQueueBytes Bytes `yaml:"max_queue_bytes"`
	// MaxQueueAge drops queued samples committed longer ago than this.
	MaxQueueAge model.Duration `yaml:"max_queue_age"`
}

// Remote-write queue defaults: about 2 hours of 100,000 samples per second
// fit in 512 MiB (records are snappy-compressed, some 20-40 bytes a sample).
const (
	DefaultMaxQueueBytes = Bytes(512 * units.MiB)
	DefaultMaxQueueAge   = model.Duration(6 * time.Hour)
	minQueueBytes        = Bytes(units.MiB)
)

// Bytes is a size, written with a unit (512MiB, 1GiB) or as a number of bytes.
type Bytes int64

// UnmarshalYAML reads a size, naming the line of a bad one.
func (b *Bytes) UnmarshalYAML(n *yaml.Node) error {
	if v, err := units.ParseBase2Bytes(n.Value); err == nil {
		*b = Bytes(v)
		return nil
	}
	v, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		return fmt.Errorf("line %d: invalid size %q (want bytes, or a unit such as 512MiB)", n.Line, n.Value)
	}
	*b = Bytes(v)
	return nil
}

func (b Bytes) String() string { return units.Base2Bytes(b).String() }

func defaultRemoteWriteConfig() RemoteWriteConfig {
	return RemoteWriteConfig{MaxQueueBytes: DefaultMaxQueueBytes, MaxQueueAge: DefaultMaxQueueAge}
}

func (c RemoteWriteConfig) validate() error {
	if c.MaxQueueBytes < minQueueBytes {
		return fmt.Errorf("graft.remote_write.max_queue_bytes must be at least 1MiB, got %s", c.MaxQueueBytes)
	}
	if c.MaxQueueAge < 0 {
		return fmt.Errorf("graft.remote_write.max_queue_age must not be negative, got %s", c.MaxQueueAge)
	}
	return nil
}

// remoteWriteV1 is the protobuf message of remote write 1.0, the one
// protocol Graft sends.
const remoteWriteV1 = "prometheus.WriteRequest"

// checkRemoteWrite refuses remote_write settings Graft's sender cannot
// honour, so that the file fails to load instead of sending something else
// than it says.
func checkRemoteWrite(c *promconfig.Config) error {
	for i, rw := range c.RemoteWriteConfigs {
		where := fmt.Sprintf("remote_write[%d] (%s)", i, rw.URL.Redacted())
		if rw.ProtobufMessage != "" && string(rw.ProtobufMessage) != remoteWriteV1 {
			return fmt.Errorf("%s: protobuf_message %q is not supported: Graft sends remote write 1.0 (%s) only",
				where, rw.ProtobufMessage, remoteWriteV1)
		}
		var auth string
		switch {
		case rw.SigV4Config != nil:
			auth = "sigv4"
		case rw.AzureADConfig != nil:
			auth = "azuread"
		case rw.GoogleIAMConfig != nil:
			auth = "google_iam"
		}
		if auth != "" {
			return fmt.Errorf("%s: %s authentication is not supported (use basic_auth, authorization, oauth2 or TLS)", where, auth)
		}
	}
	return nil
}

// remoteWriteWarnings names remote_write options that are accepted and
// ignored.
func remoteWriteWarnings(c *promconfig.Config) []string {
	var w []string
	for i, rw := range c.RemoteWriteConfigs {
		if !reflect.DeepEqual(rw.MetadataConfig, promconfig.DefaultMetadataConfig) {
			w = append(w, fmt.Sprintf("remote_write[%d].metadata_config is ignored: Graft does not send metric metadata", i))
		}
		if rw.RoundRobinDNS {
			w = append(w, fmt.Sprintf("remote_write[%d].round_robin_dns is ignored", i))
		}
	}
	return w
}
