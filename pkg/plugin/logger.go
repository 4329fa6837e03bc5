package plugin

import (
	"context"
	"log/slog"

	sdklog "github.com/grafana/grafana-plugin-sdk-go/backend/log"
)

// NewSlogLogger returns a slog.Logger that writes through the SDK's logger,
// which Grafana reads from the plugin's stderr and files with its own logs.
func NewSlogLogger(l sdklog.Logger) *slog.Logger {
	return slog.New(&sdkHandler{log: l})
}

type sdkHandler struct {
	log   sdklog.Logger
	attrs []any
	group string
}

func (h *sdkHandler) Enabled(_ context.Context, lvl slog.Level) bool {
	switch h.log.Level() {
	case sdklog.Debug, sdklog.Trace, sdklog.NoLevel:
		return true
	case sdklog.Info:
		return lvl >= slog.LevelInfo
	case sdklog.Warn:
		return lvl >= slog.LevelWarn
	default:
		return lvl >= slog.LevelError
	}
}

func (h *sdkHandler) Handle(_ context.Context, r slog.Record) error {
	args := append([]any(nil), h.attrs...)
	r.Attrs(func(a slog.Attr) bool {
		args = append(args, h.key(a.Key), a.Value.Resolve().Any())
		return true
	})
	switch {
	case r.Level >= slog.LevelError:
		h.log.Error(r.Message, args...)
	case r.Level >= slog.LevelWarn:
		h.log.Warn(r.Message, args...)
	case r.Level >= slog.LevelInfo:
		h.log.Info(r.Message, args...)
	default:
		h.log.Debug(r.Message, args...)
	}
	return nil
}

func (h *sdkHandler) WithAttrs(as []slog.Attr) slog.Handler {
	n := *h
	n.attrs = append([]any(nil), h.attrs...)
	for _, a := range as {
		n.attrs = append(n.attrs, h.key(a.Key), a.Value.Resolve().Any())
	}
	return &n
}

func (h *sdkHandler) WithGroup(name string) slog.Handler {
	n := *h
	n.group = h.key(name)
	return &n
}

func (h *sdkHandler) key(k string) string {
	if h.group == "" {
		return k
	}
	return h.group + "." + k
}
