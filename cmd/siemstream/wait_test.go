package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opensearch-project/opensearch-go/v4"
	"github.com/rs/zerolog"
)

// waitOpenSearch's retry logic against a stand-in HTTP endpoint (the real
// cluster's start-up is covered by the integration tests, which start the
// consumer next to a running node).
func TestWaitOpenSearch(t *testing.T) {
	for _, tc := range []struct {
		name    string
		answers []int // status per request, the last one repeats
		wait    time.Duration
		wantErr string
	}{
		{"comes up", []int{503, 503, 200}, time.Minute, ""},
		{"credentials", []int{401}, time.Minute, "refused the credentials"},
		{"gives up", []int{503}, 700 * time.Millisecond, "not reachable after"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var n atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				i := min(int(n.Add(1))-1, len(tc.answers)-1)
				w.WriteHeader(tc.answers[i])
			}))
			defer srv.Close()
			c, err := opensearch.NewClient(opensearch.Config{Addresses: []string{srv.URL}, DisableRetry: true})
			if err != nil {
				t.Fatal(err)
			}
			err = waitOpenSearch(context.Background(), zerolog.Nop(), c, tc.wait)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			if tc.name == "comes up" && n.Load() != 3 {
				t.Errorf("%d requests, want 3", n.Load())
			}
		})
	}
}
