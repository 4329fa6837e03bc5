package remote

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"time"

	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/config"
	"github.com/graftlabs/graft/pkg/remote/queue"
)

// Config is what the remote-write side needs of graft.yml.
type Config struct {
	// Endpoints are the remote_write entries, in file order.
	Endpoints      []*promconfig.RemoteWriteConfig
	ExternalLabels labels.Labels
	// MaxQueueBytes and MaxQueueAge bound each endpoint's durable queue.
	MaxQueueBytes int64
	MaxQueueAge   time.Duration
	// Sync and SyncInterval follow graft.storage.fsync.
	Sync         queue.SyncPolicy
	SyncInterval time.Duration
}

// FromConfig extracts the remote-write configuration of a loaded graft.yml.
func FromConfig(c *config.Config) Config {
	sync := queue.SyncAppend
	switch c.Graft.Storage.Fsync {
	case "interval":
		sync = queue.SyncInterval
	case "segment":
		sync = queue.SyncSegment
	}
	rw := c.Graft.RemoteWrite
	return Config{
		Endpoints:      c.Prometheus.RemoteWriteConfigs,
		ExternalLabels: c.Prometheus.GlobalConfig.ExternalLabels,
		MaxQueueBytes:  int64(rw.MaxQueueBytes),
		MaxQueueAge:    time.Duration(rw.MaxQueueAge),
		Sync:           sync,
		SyncInterval:   time.Duration(c.Graft.Storage.FsyncInterval),
	}
}

// spec is one endpoint's whole configuration: two endpoints with equal
// specs behave alike, so a reload keeps them running untouched.
type spec struct {
	// id names the endpoint's queue directory: a hash of its URL and
	// name, so that a reload that changes other settings keeps the queue.
	id string
	// name is the remote_name label: the configured name, or a short hash.
	name string
	// url is the URL with any password redacted, for labels and logs.
	url      string
	cfg      *promconfig.RemoteWriteConfig
	external labels.Labels
}

func newSpec(rw *promconfig.RemoteWriteConfig, external labels.Labels) (spec, error) {
	if err := checkSupported(rw); err != nil {
		return spec{}, err
	}
	sum := sha256.Sum256([]byte(rw.Name + "\x00" + rw.URL.String()))
	id := hex.EncodeToString(sum[:8])
	name := rw.Name
	if name == "" {
		name = id[:6]
	}
	return spec{id: id, name: name, url: rw.URL.Redacted(), cfg: rw, external: external}, nil
}

// checkSupported refuses what Graft's sender does not do, rather than
// sending something else than the configuration asks for.
func checkSupported(rw *promconfig.RemoteWriteConfig) error {
	if rw.ProtobufMessage != "" && string(rw.ProtobufMessage) != protoV1 {
		return fmt.Errorf("protobuf_message %q: Graft sends remote write 1.0 only (%s)", rw.ProtobufMessage, protoV1)
	}
	switch {
	case rw.SigV4Config != nil:
		return errors.New("sigv4 authentication is not supported")
	case rw.AzureADConfig != nil:
		return errors.New("azuread authentication is not supported")
	case rw.GoogleIAMConfig != nil:
		return errors.New("google_iam authentication is not supported")
	}
	return nil
}

// equal says whether two specs configure the same sender. Secrets are
// compared too (reflect, not the YAML form, which hides them).
func (s spec) equal(o spec) bool {
	return s.id == o.id && labels.Equal(s.external, o.external) && reflect.DeepEqual(s.cfg, o.cfg)
}
