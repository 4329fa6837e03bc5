package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// webServer is the core's HTTP listener.
type webServer struct {
	srv *http.Server
	err error // why it is not serving, if it is not
}

// startWeb binds addr and serves h in the background. On a bind error it
// returns a webServer carrying the error, and the error itself.
func startWeb(addr string, h http.Handler, logger *slog.Logger) (*webServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		err = fmt.Errorf("listen on %s: %w", addr, err)
		logger.Error("HTTP listener not started", "err", err)
		return &webServer{err: err}, err
	}
	w := &webServer{srv: &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second}}
	go func() {
		if err := w.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("HTTP listener failed", "err", err)
		}
	}()
	logger.Info("Listening", "address", ln.Addr().String())
	return w, nil
}

func (w *webServer) close() error {
	if w.srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return w.srv.Shutdown(ctx)
}

// webHandler is the full HTTP surface: the Prometheus API, self-metrics,
// the demo target and the health and lifecycle endpoints.
func (c *Core) webHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/api/v1/", c.api.Handler())
	mux.HandleFunc("POST /api/v1/write", c.remoteWrite)
	mux.Handle("GET /metrics", promhttp.HandlerFor(c.opts.Gatherer, promhttp.HandlerOpts{EnableOpenMetrics: true}))
	mux.Handle("GET /demo/metrics", c.demo)
	mux.HandleFunc("GET /-/healthy", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "Graft is Healthy.")
	})
	mux.HandleFunc("GET /-/ready", func(w http.ResponseWriter, _ *http.Request) {
		if c.State() != services.Running {
			http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "Graft is Ready.")
	})
	mux.HandleFunc("POST /-/reload", func(w http.ResponseWriter, _ *http.Request) {
		if !c.opts.EnableLifecycle {
			http.Error(w, "Lifecycle API is not enabled.", http.StatusForbidden)
			return
		}
		if err := c.Reload(); err != nil {
			http.Error(w, "failed to reload config: "+err.Error(), http.StatusInternalServerError)
		}
	})
	return mux
}

// remoteWrite takes remote-write requests when the receiver is enabled.
func (c *Core) remoteWrite(w http.ResponseWriter, r *http.Request) {
	if !c.opts.EnableRemoteWriteReceiver && !c.Config().Graft.Web.EnableRemoteWriteReceiver {
		http.Error(w, "remote write receiver needs to be enabled with --web.enable-remote-write-receiver or graft.web.enable_remote_write_receiver", http.StatusNotFound)
		return
	}
	c.receiver.ServeHTTP(w, r)
}

// Handler returns the core's HTTP surface, for tests and embedding.
func (c *Core) Handler() http.Handler { return c.webHandler() }
