package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/units"

	"github.com/graftlabs/graft/pkg/config"
)

func TestQueryCacheDefaultsAndParse(t *testing.T) {
	c := load(t, "")
	qc := c.Graft.QueryCache
	if !qc.Enabled || qc.MaxSize != config.DefaultQueryCacheMaxSize || qc.Freshness != config.DefaultQueryCacheFreshness {
		t.Fatalf("defaults: %+v", qc)
	}
	c = load(t, "graft:\n  query_cache:\n    max_size: 64MiB\n    freshness: 2m\n")
	qc = c.Graft.QueryCache
	if !qc.Enabled || qc.MaxSize != config.Bytes(64*units.MiB) || time.Duration(qc.Freshness) != 2*time.Minute {
		t.Fatalf("parsed %+v", qc)
	}
	if c = load(t, "graft:\n  query_cache:\n    enabled: false\n"); c.Graft.QueryCache.Enabled {
		t.Fatal("enabled: false not read")
	}
	if c = load(t, "graft:\n  query_cache:\n    freshness: 0s\n"); c.Graft.QueryCache.Freshness != 0 {
		t.Fatal("freshness 0 refused or not read")
	}
}

func TestQueryCacheRefusals(t *testing.T) {
	for name, tc := range map[string]struct{ yml, want string }{
		"tiny":               {"graft:\n  query_cache:\n    max_size: 1KiB\n", "graft.query_cache.max_size must be at least 1MiB"},
		"bad size":           {"graft:\n  query_cache:\n    max_size: big\n", `line 3: invalid size "big"`},
		"negative freshness": {"graft:\n  query_cache:\n    freshness: -5m\n", ""},
		"unknown key":        {"graft:\n  query_cache:\n    ttl: 5m\n", "ttl"},
		"not a bool":         {"graft:\n  query_cache:\n    enabled: maybe\n", "line 3"},
	} {
		t.Run(name, func(t *testing.T) {
			err := loadErr(t, tc.yml)
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not say %q", err, tc.want)
			}
		})
	}
}
