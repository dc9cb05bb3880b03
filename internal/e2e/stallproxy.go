package e2e

import (
	"fmt"
	"net/http"
	"sync"
)

// StallProxy is a reverse proxy in front of a real AWS-protocol service
// (kinesalite, moto) that never answers the first N requests whose
// X-Amz-Target header equals Target: it holds each one until the client
// gives up (or the proxy closes), as a half-open TCP connection after a
// NAT or load-balancer drop does. Every other request reaches the real
// service unchanged.
type StallProxy struct {
	*front
	target string
	done   chan struct{}
	once   sync.Once

	mu      sync.Mutex
	left    int // requests still to hold
	stalled int // requests held so far
	matched int // requests that matched target, held or forwarded
}

// NewStallProxy listens on a free loopback port, forwards to upstream
// (e.g. http://127.0.0.1:4567) and holds the first n requests whose
// X-Amz-Target is target (e.g. "Kinesis_20131202.GetRecords").
func NewStallProxy(upstream, target string, n int) (*StallProxy, error) {
	if target == "" || n < 0 {
		return nil, fmt.Errorf("stall proxy: want a target and n >= 0 (got %q, %d)", target, n)
	}
	f, err := newFront("stall proxy", upstream)
	if err != nil {
		return nil, err
	}
	// A client that gives up on a forwarded call (an AT_TIMESTAMP probe
	// kinesalite never answers) is expected here, not an error to print.
	f.rp.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		if r.Context().Err() == nil {
			http.Error(w, "stall proxy: "+err.Error(), http.StatusBadGateway)
		}
	}
	p := &StallProxy{front: f, target: target, left: n, done: make(chan struct{})}
	f.serve(p)
	return p, nil
}

// ServeHTTP holds a matching request while holds are left, else forwards.
func (p *StallProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-Amz-Target") == p.target {
		p.mu.Lock()
		p.matched++
		hold := p.left > 0
		if hold {
			p.left--
			p.stalled++
		}
		p.mu.Unlock()
		if hold {
			select {
			case <-r.Context().Done():
			case <-p.done:
			}
			return
		}
	}
	p.rp.ServeHTTP(w, r)
}

// Stalled is how many requests were held so far.
func (p *StallProxy) Stalled() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stalled
}

// Matched is how many requests matched the target so far.
func (p *StallProxy) Matched() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.matched
}

// Close releases the held requests and stops the proxy.
func (p *StallProxy) Close() error {
	p.once.Do(func() { close(p.done) })
	return p.front.Close()
}
