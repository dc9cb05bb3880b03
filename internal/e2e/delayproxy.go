package e2e

import (
	"fmt"
	"net/http"
	"time"
)

// DelayProxy is a reverse proxy in front of a real OpenSearch node that
// waits Delay before forwarding each request, so the local node answers as
// a remote domain would (the round trip of a cluster in another network).
// It changes nothing else: the real node answers every request.
type DelayProxy struct {
	*front
	delay time.Duration
}

// NewDelayProxy listens on a free loopback port and forwards to target
// (e.g. http://127.0.0.1:9200) after delay.
func NewDelayProxy(target string, delay time.Duration) (*DelayProxy, error) {
	if delay < 0 {
		return nil, fmt.Errorf("delay proxy: negative delay %s", delay)
	}
	f, err := newFront("delay proxy", target)
	if err != nil {
		return nil, err
	}
	// Every concurrent client keeps its own upstream connection, so the
	// proxy adds the delay and not connection set-up.
	f.rp.Transport.(*http.Transport).MaxIdleConnsPerHost = 256
	p := &DelayProxy{front: f, delay: delay}
	f.serve(p)
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

// Delay is the time added to each request.
func (p *DelayProxy) Delay() time.Duration { return p.delay }
