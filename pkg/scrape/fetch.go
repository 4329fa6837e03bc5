package scrape

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	promconfig "github.com/prometheus/prometheus/config"
)

// errBodySizeLimit marks a scrape whose body exceeded body_size_limit.
var errBodySizeLimit = errors.New("body size limit exceeded")

// fetcher performs the HTTP part of a scrape.
type fetcher struct {
	client        *http.Client
	accept        string
	compression   bool
	bodySizeLimit int64
	userAgent     string
}

func newFetcher(client *http.Client, cfg *promconfig.ScrapeConfig, userAgent string) *fetcher {
	protocols := cfg.ScrapeProtocols
	if len(protocols) == 0 {
		protocols = promconfig.DefaultScrapeProtocols
		if cfg.ScrapeNativeHistogramsEnabled() {
			// Native histograms travel in the protobuf format only.
			protocols = promconfig.DefaultProtoFirstScrapeProtocols
		}
	}
	return &fetcher{
		client:        client,
		accept:        acceptHeader(protocols, cfg.MetricNameEscapingScheme),
		compression:   cfg.EnableCompression,
		bodySizeLimit: int64(cfg.BodySizeLimit),
		userAgent:     userAgent,
	}
}

// acceptHeader lists the protocols in order of preference with descending
// q-weights and a final */* catch-all, as Prometheus negotiates.
func acceptHeader(protocols []promconfig.ScrapeProtocol, escaping string) string {
	if escaping == "" {
		escaping = model.AllowUTF8
	}
	vals := make([]string, 0, len(protocols)+1)
	weight := len(promconfig.ScrapeProtocolsHeaders) + 1
	for _, p := range protocols {
		v := promconfig.ScrapeProtocolsHeaders[p]
		if p == promconfig.PrometheusText1_0_0 || p == promconfig.OpenMetricsText1_0_0 {
			v += ";" + model.EscapingKey + "=" + escaping
		}
		vals = append(vals, fmt.Sprintf("%s;q=0.%d", v, weight))
		weight--
	}
	vals = append(vals, fmt.Sprintf("*/*;q=0.%d", weight))
	return strings.Join(vals, ",")
}

// fetch GETs the target and returns the (decompressed) body and its
// Content-Type.
func (f *fetcher) fetch(ctx context.Context, t *Target) ([]byte, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.url.String(), nil)
	if err != nil {
		return nil, "", fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Accept", f.accept)
	if f.compression {
		req.Header.Set("Accept-Encoding", "gzip")
	} else {
		req.Header.Set("Accept-Encoding", "identity")
	}
	req.Header.Set("User-Agent", f.userAgent)
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", strconv.FormatFloat(t.timeout.Seconds(), 'f', -1, 64))

	resp, err := f.client.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		_ = resp.Body.Close()
	}()
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("server returned HTTP status %s", resp.Status)
	}

	var body io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "gzip" {
		gz, err := gzip.NewReader(resp.Body)
		if err != nil {
			return nil, "", fmt.Errorf("gzip body: %w", err)
		}
		defer gz.Close()
		body = gz
	}
	b, err := f.readLimited(body)
	if err != nil {
		return nil, "", err
	}
	return b, resp.Header.Get("Content-Type"), nil
}

func (f *fetcher) readLimited(r io.Reader) ([]byte, error) {
	var buf bytes.Buffer
	if f.bodySizeLimit <= 0 {
		if _, err := buf.ReadFrom(r); err != nil {
			return nil, fmt.Errorf("read body: %w", err)
		}
		return buf.Bytes(), nil
	}
	n, err := buf.ReadFrom(io.LimitReader(r, f.bodySizeLimit+1))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if n > f.bodySizeLimit {
		return nil, fmt.Errorf("%w: more than %d bytes", errBodySizeLimit, f.bodySizeLimit)
	}
	return buf.Bytes(), nil
}

// timeoutErr rewrites a context deadline into the message users expect.
func timeoutErr(err error, timeout time.Duration) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("scrape timed out after %s: %w", timeout, err)
	}
	return err
}
