package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"
)

// runHealthcheck is a container health check for images without a shell or
// curl (ECS HEALTHCHECK ["CMD", "siemstream", "healthcheck"]): GET the
// process's own /healthz and exit 0 on 200, 1 otherwise. The default URL
// follows SIEM_METRICS_ADDR (the address the producer or consumer serves its
// metrics and /healthz on), so the task definition needs no extra setting.
func runHealthcheck(ctx context.Context, args []string) error {
	f := newFlags("healthcheck", "[flags]")
	url := f.str("url", "SIEM_HEALTHCHECK_URL", healthURL(os.Getenv("SIEM_METRICS_ADDR")), "URL to GET; healthy only on HTTP 200")
	timeout := f.duration("timeout", "SIEM_HEALTHCHECK_TIMEOUT", 3*time.Second, "give up after this long")
	if err := f.Parse(args); err != nil {
		return err
	}
	return healthcheck(ctx, *url, *timeout)
}

// healthURL turns a listen address (":9464", "0.0.0.0:9464", "[::]:9464")
// into the loopback /healthz URL of that port.
func healthURL(addr string) string {
	port := "9464"
	if _, p, err := net.SplitHostPort(addr); err == nil && p != "" {
		port = p
	}
	return "http://127.0.0.1:" + port + "/healthz"
}

func healthcheck(ctx context.Context, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("health check %s: %w", url, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("health check: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health check %s: HTTP %d: %s", url, resp.StatusCode, body)
	}
	return nil
}
