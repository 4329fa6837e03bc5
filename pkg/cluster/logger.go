package cluster

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
)

// gokitLogger hands dskit, which logs through go-kit, to the core's slog
// logger: the level and msg keys become the record's level and message, the
// other pairs its attributes.
type gokitLogger struct {
	logger *slog.Logger
}

var _ log.Logger = gokitLogger{}

func newGokitLogger(l *slog.Logger) log.Logger { return gokitLogger{logger: l} }

// Log implements log.Logger. It never fails: a record slog drops is not an
// error of the caller's.
func (g gokitLogger) Log(keyvals ...any) error {
	lvl, msg := slog.LevelInfo, ""
	attrs := make([]any, 0, len(keyvals))
	for i := 0; i < len(keyvals); i += 2 {
		key := fmt.Sprint(keyvals[i])
		var val any = "(MISSING)"
		if i+1 < len(keyvals) {
			val = keyvals[i+1]
		}
		switch {
		case keyvals[i] == level.Key():
			lvl = slogLevel(val)
		case key == "msg" && msg == "":
			msg = fmt.Sprint(val)
		default:
			attrs = append(attrs, key, val)
		}
	}
	g.logger.Log(context.Background(), lvl, msg, attrs...)
	return nil
}

func slogLevel(v any) slog.Level {
	switch fmt.Sprint(v) {
	case level.DebugValue().String():
		return slog.LevelDebug
	case level.WarnValue().String():
		return slog.LevelWarn
	case level.ErrorValue().String():
		return slog.LevelError
	}
	return slog.LevelInfo
}
