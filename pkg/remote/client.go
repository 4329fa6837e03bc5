package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/golang/snappy"
	commonconfig "github.com/prometheus/common/config"
	"github.com/prometheus/prometheus/prompb"
)

// Remote write 1.0 request headers.
const (
	remoteWriteVersion = "0.1.0"
	// maxErrorBody bounds how much of an error response is read and logged.
	maxErrorBody = 512
)

// client POSTs write requests to one endpoint.
type client struct {
	url       string // as configured; never logged (it may hold a password)
	hc        *http.Client
	headers   map[string]string
	timeout   time.Duration
	userAgent string
	retry429  bool
}

// newClient builds the HTTP client of an endpoint from its configuration:
// TLS, basic auth, authorization, OAuth2 and proxies are Prometheus's own
// (prometheus/common's HTTP client config).
func newClient(s spec, userAgent string) (*client, error) {
	hc, err := commonconfig.NewClientFromConfig(s.cfg.HTTPClientConfig, "remote_storage_"+s.name,
		commonconfig.WithUserAgent(userAgent))
	if err != nil {
		return nil, fmt.Errorf("HTTP client: %w", err)
	}
	return &client{
		url: s.cfg.URL.String(), hc: hc, headers: s.cfg.Headers,
		timeout: time.Duration(s.cfg.RemoteTimeout), userAgent: userAgent,
		retry429: s.cfg.QueueConfig.RetryOnRateLimit,
	}, nil
}

// sendError is a failed send: whether it is worth retrying, and how long
// the receiver asked to wait (Retry-After), if it did.
type sendError struct {
	status     int // 0 for network errors
	retryable  bool
	retryAfter time.Duration
	err        error
}

func (e *sendError) Error() string { return e.err.Error() }
func (e *sendError) Unwrap() error { return e.err }

// store sends one request. Errors are *sendError.
func (c *client) store(ctx context.Context, req *prompb.WriteRequest) (int, error) {
	raw, err := req.Marshal()
	if err != nil {
		return 0, &sendError{err: fmt.Errorf("encode write request: %w", err)}
	}
	body := snappy.Encode(nil, raw)
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return 0, &sendError{err: fmt.Errorf("build request: %w", err)}
	}
	for k, v := range c.headers {
		hreq.Header.Set(k, v)
	}
	hreq.Header.Set("Content-Encoding", "snappy")
	hreq.Header.Set("Content-Type", "application/x-protobuf")
	hreq.Header.Set("X-Prometheus-Remote-Write-Version", remoteWriteVersion)
	hreq.Header.Set("User-Agent", c.userAgent)
	resp, err := c.hc.Do(hreq)
	if err != nil {
		// Network errors and timeouts: the receiver may come back. The
		// error names the URL without its password (net/http strips it).
		return len(body), &sendError{retryable: ctx.Err() == nil || errors.Is(ctx.Err(), context.DeadlineExceeded), err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // let the connection be reused
		return len(body), nil
	}
	excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	serr := &sendError{
		status: resp.StatusCode,
		err:    fmt.Errorf("server returned HTTP %s: %s", resp.Status, strings.TrimSpace(string(excerpt))),
	}
	switch {
	case resp.StatusCode/100 == 5:
		serr.retryable = true
	case resp.StatusCode == http.StatusTooManyRequests && c.retry429:
		serr.retryable = true
		serr.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	return len(body), serr
}

// parseRetryAfter reads a Retry-After header: seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
