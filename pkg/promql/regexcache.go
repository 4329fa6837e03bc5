package promql

import (
	"sync"

	"github.com/grafana/regexp"
)

// regexCacheSize bounds the regular expressions an engine keeps compiled.
const regexCacheSize = 256

// regexCache keeps the regular expressions of label_replace compiled from
// query to query: dashboards send the same ones at every refresh, and
// compiling one costs more than relabeling a few series (Prometheus caches
// the regular expressions of its label matchers for the same reason). It
// holds compiled programs only, never query results; when full, it starts
// over. A compiled Regexp is safe for concurrent use.
type regexCache struct {
	mu sync.Mutex
	m  map[string]*regexp.Regexp
}

// compile returns the compiled form of expr, compiling it if needed.
// Expressions that fail to compile are not kept.
func (c *regexCache) compile(expr string) (*regexp.Regexp, error) {
	c.mu.Lock()
	re, ok := c.m[expr]
	c.mu.Unlock()
	if ok {
		return re, nil
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= regexCacheSize {
		c.m = make(map[string]*regexp.Regexp)
	}
	c.m[expr] = re
	c.mu.Unlock()
	return re, nil
}
