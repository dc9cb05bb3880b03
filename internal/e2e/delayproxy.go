package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"
)

// DelayProxy is a reverse proxy in front of a real OpenSearch node that
// waits Delay before forwarding each request, so the local node answers as
// a remote domain would (the round trip of a cluster in another network).
// It changes nothing else: the real node answers every request.
type DelayProxy struct {
	delay time.Duration
	ln    net.Listener
	srv   *http.Server
	rp    *httputil.ReverseProxy
}

// NewDelayProxy listens on a free loopback port and forwards to target
// (e.g. http://127.0.0.1:9200) after delay.
func NewDelayProxy(target string, delay time.Duration) (*DelayProxy, error) {
	u, err := url.Parse(target)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("delay proxy: bad target %q", target)
	}
	if delay < 0 {
		return nil, fmt.Errorf("delay proxy: negative delay %s", delay)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("delay proxy: %w", err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// Every concurrent client keeps its own upstream connection, so the
	// proxy adds the delay and not connection set-up.
	tr.MaxIdleConnsPerHost = 256
	rp.Transport = tr
	p := &DelayProxy{delay: delay, ln: ln, rp: rp}
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 30 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// ServeHTTP waits the delay (or until the client gives up), then forwards.
func (p *DelayProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p.delay > 0 {
		t := time.NewTimer(p.delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	p.rp.ServeHTTP(w, r)
}

// URL is the proxy's base URL, to use in place of the node's.
func (p *DelayProxy) URL() string { return "http://" + p.ln.Addr().String() }

// Delay is the time added to each request.
func (p *DelayProxy) Delay() time.Duration { return p.delay }

// Close stops the proxy.
func (p *DelayProxy) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return p.srv.Close()
	}
	return nil
}
