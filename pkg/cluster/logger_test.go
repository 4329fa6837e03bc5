package cluster

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
)

func TestGokitLoggerToSlog(t *testing.T) {
	var buf bytes.Buffer
	lg := newGokitLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	for _, tc := range []struct {
		log  func()
		want string
	}{
		{func() { _ = level.Warn(lg).Log("msg", "auto-forgetting instance", "instance", "graft-2") }, `level=WARN msg="auto-forgetting instance" instance=graft-2`},
		{func() { _ = level.Error(lg).Log("msg", "failed", "err", "boom") }, `level=ERROR msg=failed err=boom`},
		{func() { _ = level.Debug(log.With(lg, "component", "tcp")).Log("msg", "x") }, `level=DEBUG msg=x component=tcp`},
		{func() { _ = lg.Log("msg", "no level", "odd") }, `level=INFO msg="no level" odd=(MISSING)`},
	} {
		buf.Reset()
		tc.log()
		if got := buf.String(); !strings.Contains(got, tc.want) {
			t.Errorf("logged %q, want %q", got, tc.want)
		}
	}
}
