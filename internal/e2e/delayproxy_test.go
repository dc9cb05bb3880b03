package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestDelayProxy: requests through the proxy reach the real node, each one
// at least the delay later; concurrent requests wait in parallel, not in
// turn.
func TestDelayProxy(t *testing.T) {
	_, s := stackOrSkip(t)
	const delay = 150 * time.Millisecond
	p, err := NewDelayProxy(s.OpenSearch, delay)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ps, err := s.WithOpenSearch(p.URL(), s.User, s.Password, "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	out, err := ps.Do(ctx, http.MethodGet, "/", nil)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < delay {
		t.Fatalf("answered in %s, want >= %s", took, delay)
	}
	if !strings.Contains(string(out), "cluster_name") {
		t.Fatalf("not the node's answer: %.200s", out)
	}
	const n = 8
	errs := make(chan error, n)
	start = time.Now()
	for range n {
		go func() {
			_, err := ps.Do(ctx, http.MethodGet, "/_cluster/health", nil)
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if took := time.Since(start); took < delay || took > n*delay/2 {
		t.Fatalf("%d concurrent requests took %s, want between %s and %s", n, took, delay, n*delay/2)
	}
	if _, err := NewDelayProxy("not a url", delay); err == nil {
		t.Fatal("bad target accepted")
	}
}
