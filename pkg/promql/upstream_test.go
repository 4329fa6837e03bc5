package promql_test

import (
	"path"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/promqltest"
	promstorage "github.com/prometheus/prometheus/storage"

	"github.com/graftlabs/graft/pkg/promql"
	"github.com/graftlabs/graft/pkg/promql/promcompat"
	"github.com/graftlabs/graft/pkg/storage/memstore"
)

// skippedUpstream lists the files of Prometheus's test suite
// (promql/promqltest/testdata) that Graft does not pass yet, each with its
// reason. It is the only skip list; it shrinks to nothing.
var skippedUpstream = map[string]string{}

// upstreamEngine is Graft's engine configured like promqltest's test
// engine: delayed name removal, start timestamps, one-minute steps for
// subqueries without one.
func upstreamEngine() *promcompat.Engine {
	return promcompat.NewEngine(promql.NewEngine(promql.EngineOpts{
		LookbackDelta:            5 * time.Minute,
		Timeout:                  100 * time.Second,
		MaxSamples:               promqltest.DefaultMaxSamplesPerQuery,
		EnableDelayedNameRemoval: true,
		EnableStartTimestamps:    true,
		NoStepSubqueryInterval:   func(int64) int64 { return time.Minute.Milliseconds() },
	}))
}

// TestUpstreamPromQL runs every file of Prometheus's PromQL test suite, one
// subtest per file, against Graft's engine over Graft's in-memory storage.
func TestUpstreamPromQL(t *testing.T) {
	newStorage := func(testing.TB) promstorage.Storage { return promcompat.NewStorage(memstore.New()) }
	promqltest.RunBuiltinTestsWithStorage(skippingT{t}, upstreamEngine(), newStorage)
}

// skippingT skips the files listed in skippedUpstream.
type skippingT struct{ *testing.T }

func (s skippingT) Run(name string, f func(*testing.T)) bool {
	return s.T.Run(name, func(t *testing.T) {
		if reason, ok := skippedUpstream[path.Base(name)]; ok {
			t.Skip(reason)
		}
		f(t)
	})
}
