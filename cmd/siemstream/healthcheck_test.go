package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestHealthURL(t *testing.T) {
	for addr, want := range map[string]string{
		"":             "http://127.0.0.1:9464/healthz",
		":9464":        "http://127.0.0.1:9464/healthz",
		"0.0.0.0:9100": "http://127.0.0.1:9100/healthz",
		"[::]:8080":    "http://127.0.0.1:8080/healthz",
		"garbage":      "http://127.0.0.1:9464/healthz",
	} {
		if got := healthURL(addr); got != want {
			t.Errorf("healthURL(%q) = %q, want %q", addr, got, want)
		}
	}
}

func TestHealthcheck(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz":
			w.Write([]byte("ok"))
		case "/slow":
			<-r.Context().Done()
		default:
			http.Error(w, "not ready: no lease table", http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	if err := healthcheck(ctx, srv.URL+"/healthz", time.Second); err != nil {
		t.Fatalf("healthy endpoint: %v", err)
	}
	if err := healthcheck(ctx, srv.URL+"/down", time.Second); err == nil || !strings.Contains(err.Error(), "HTTP 503: not ready") {
		t.Fatalf("503: got %v, want the status and body", err)
	}
	if err := healthcheck(ctx, srv.URL+"/slow", 100*time.Millisecond); err == nil {
		t.Fatal("slow endpoint: want a timeout error")
	}
	srv.Close()
	if err := healthcheck(ctx, srv.URL+"/healthz", time.Second); err == nil {
		t.Fatal("closed server: want an error")
	}
	// The command: flags and environment.
	if err := runHealthcheck(ctx, []string{"--url", "http://127.0.0.1:1/healthz", "--timeout", "1s"}); err == nil {
		t.Fatal("nothing listening: want an error")
	}
}
