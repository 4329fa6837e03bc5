package promql

import (
	"strconv"
	"testing"
)

func TestRegexCache(t *testing.T) {
	var c regexCache
	a, err := c.compile("^(a+)$")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := c.compile("^(a+)$"); b != a {
		t.Error("the same expression was compiled twice")
	}
	if _, err := c.compile("(("); err == nil {
		t.Error("an invalid expression compiled")
	}
	if _, ok := c.m["(("]; ok {
		t.Error("an invalid expression was kept")
	}
	for i := range 2 * regexCacheSize {
		if _, err := c.compile(strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	if len(c.m) > regexCacheSize {
		t.Errorf("the cache holds %d expressions, more than %d", len(c.m), regexCacheSize)
	}
}
