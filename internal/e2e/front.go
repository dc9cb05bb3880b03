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

// front is what the test proxies (DelayProxy, StallProxy) share: a
// loopback listener serving a reverse proxy to one real upstream. The
// owner decides per request what happens before (or instead of)
// forwarding through rp, and starts serving with serve.
type front struct {
	ln  net.Listener
	srv *http.Server
	rp  *httputil.ReverseProxy
}

// newFront listens on a free loopback port for a proxy to upstream (e.g.
// http://127.0.0.1:9200); name prefixes its errors.
func newFront(name, upstream string) (*front, error) {
	u, err := url.Parse(upstream)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("%s: bad upstream %q", name, upstream)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.Transport = http.DefaultTransport.(*http.Transport).Clone()
	return &front{ln: ln, rp: rp}, nil
}

// serve starts answering with h.
func (f *front) serve(h http.Handler) {
	f.srv = &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second}
	go func() { _ = f.srv.Serve(f.ln) }()
}

// URL is the proxy's base URL, to use in place of the upstream's.
func (f *front) URL() string { return "http://" + f.ln.Addr().String() }

// Close stops the proxy.
func (f *front) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f.srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return f.srv.Close()
	}
	return nil
}
