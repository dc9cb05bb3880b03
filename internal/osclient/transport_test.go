package osclient

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/rs/zerolog"

	"github.com/siemstream/siemstream/internal/e2e/sigv4proxy"
)

// node stands for the cluster behind the verifying proxy: it only checks
// that what arrives is a readable (decompressed by the proxy's client)
// request and answers 200.
type node struct {
	mu     sync.Mutex
	bodies [][]byte
	enc    []string
}

func (n *node) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	n.mu.Lock()
	n.bodies = append(n.bodies, b)
	n.enc = append(n.enc, r.Header.Get("Content-Encoding"))
	n.mu.Unlock()
	io.WriteString(w, `{"errors":false,"items":[]}`)
}

type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

const (
	testKeyID  = "ASIAOSCLIENTTEST"
	testSecret = "osclient-secret-value-0001"
	testToken  = "osclient-session-token-0001"
)

func proxyAndClient(t *testing.T, refuseGzip, compress bool, secret string) (*sigv4proxy.Proxy, *Client, *node, *logBuf) {
	t.Helper()
	n := &node{}
	up := httptest.NewServer(n)
	t.Cleanup(up.Close)
	keys := &sigv4proxy.Keyring{}
	keys.Add(sigv4proxy.Key{ID: testKeyID, Secret: testSecret, Token: testToken})
	p, err := sigv4proxy.New(sigv4proxy.Config{Target: up.URL, Region: "eu-west-1", Service: "es", Keys: keys, RefuseGzip: refuseGzip})
	if err != nil {
		t.Fatal(err)
	}
	ps := httptest.NewServer(p)
	t.Cleanup(ps.Close)
	lb := &logBuf{}
	cfg := DefaultConfig()
	cfg.URLs, cfg.Auth, cfg.Region, cfg.Compress = []string{ps.URL}, AuthSigV4, "eu-west-1", &compress
	cfg.Credentials = credentials.NewStaticCredentialsProvider(testKeyID, secret, testToken)
	cfg.Logger = zerolog.New(lb)
	c, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p, c, n, lb
}

func perform(t *testing.T, c *Client, method, path, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/x-ndjson")
	}
	resp, err := c.OpenSearch().Perform(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var bulkBody = strings.Repeat(`{"index":{"_index":"log-aws-vpcflowlogs-2025-03","_id":"abc"}}`+"\n"+`{"@timestamp":"2025-03-14T12:00:00Z","source":{"ip":"10.0.0.1"}}`+"\n", 200)

func TestSigV4Signed(t *testing.T) {
	for _, compress := range []bool{true, false} {
		p, c, n, _ := proxyAndClient(t, false, compress, testSecret)
		for _, r := range []struct{ method, path, body string }{
			{"POST", "/_bulk?filter_path=errors,items.*.status,items.*.error.type", bulkBody},
			{"GET", "/", ""},
			{"HEAD", "/log-aws-vpcflowlogs-2025-03", ""},
			{"PUT", "/_index_template/log-aws-vpcflowlogs", `{"index_patterns":["log-aws-vpcflowlogs-*"]}`},
			{"GET", "/log-a%2Clog-b/_search?size=0", ""},
			{"GET", "/_cluster/state/blocks", ""},
		} {
			if st, b := perform(t, c, r.method, r.path, r.body); st != 200 {
				t.Fatalf("compress=%t %s %s: %d %s (proxy %+v)", compress, r.method, r.path, st, b, p.Stats())
			}
		}
		s := p.Stats()
		if s.Verified != 6 || len(s.Refused) != 0 {
			t.Fatalf("compress=%t: proxy stats %+v", compress, s)
		}
		if compress && (s.GzipBodies != 2 || s.PlainBodies != 0) || !compress && (s.GzipBodies != 0 || s.PlainBodies != 2) {
			t.Errorf("compress=%t: gzip bodies %d, plain %d", compress, s.GzipBodies, s.PlainBodies)
		}
		if compress && n.enc[0] != "gzip" {
			t.Errorf("node got Content-Encoding %q", n.enc[0])
		}
	}
}

func TestGzipRefusedFallsBack(t *testing.T) {
	p, c, n, lb := proxyAndClient(t, true, true, testSecret)
	for i := range 3 {
		if st, b := perform(t, c, "POST", "/_bulk", bulkBody); st != 200 {
			t.Fatalf("request %d: %d %s", i, st, b)
		}
	}
	if c.Compressing() {
		t.Error("still compressing after the refusal")
	}
	s := p.Stats()
	if s.Refused["gzip-refused"] != 1 || s.PlainBodies != 3 {
		t.Errorf("proxy stats %+v: want one refused gzip body, then 3 plain", s)
	}
	if len(n.bodies) != 3 || string(n.bodies[2]) != bulkBody {
		t.Errorf("node got %d bodies", len(n.bodies))
	}
	if got := strings.Count(lb.String(), "request compression is off"); got != 1 {
		t.Errorf("fallback logged %d times, want once:\n%s", got, lb.String())
	}
}

func TestErrorsScrubbed(t *testing.T) {
	// A wrong secret: the proxy answers like AWS, quoting the canonical
	// request with the session token. No caller may see the token.
	p, c, _, lb := proxyAndClient(t, false, true, "wrong-secret-value-0002")
	st, b := perform(t, c, "POST", "/_bulk", bulkBody)
	if st != 403 || !strings.Contains(b, "does not match") {
		t.Fatalf("%d %s", st, b)
	}
	if !strings.Contains(b, "x-amz-security-token:[redacted]") {
		t.Errorf("want the token redacted in the canonical request: %s", b)
	}
	for _, secret := range []string{testToken, "wrong-secret-value-0002"} {
		if strings.Contains(b, secret) || strings.Contains(lb.String(), secret) {
			t.Errorf("secret %q leaked: %s\n%s", secret, b, lb.String())
		}
	}
	if !c.Compressing() {
		t.Error("a refusal of both bodies is not a gzip problem: compression must stay on")
	}
	if p.Stats().Refused["signature"] != 2 {
		t.Errorf("stats %+v", p.Stats())
	}
}

// fakeSource hands out credentials that expire after life, or fails.
type fakeSource struct {
	mu    sync.Mutex
	now   func() time.Time
	life  time.Duration
	fail  bool
	calls int
}

func (f *fakeSource) Retrieve(context.Context) (aws.Credentials, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.fail {
		return aws.Credentials{}, errors.New("credential_process: exit status 1")
	}
	return aws.Credentials{AccessKeyID: "K" + string(rune('A'+f.calls)), SecretAccessKey: "s", CanExpire: true, Expires: f.now().Add(f.life)}, nil
}

func TestCredsRenewEarly(t *testing.T) {
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := func() time.Time { return clock }
	src := &fakeSource{now: now, life: 8 * time.Second}
	lb := &logBuf{}
	c := newCreds(src, zerolog.New(lb))
	c.now = now
	get := func() (string, error) {
		cr, err := c.Retrieve(context.Background())
		return cr.AccessKeyID, err
	}
	k1, _ := get()
	clock = clock.Add(5 * time.Second) // 3s left of 8: not yet a quarter
	if k, _ := get(); k != k1 {
		t.Fatalf("renewed too early")
	}
	clock = clock.Add(1500 * time.Millisecond) // 1.5s left ≤ 2s: renew
	k2, _ := get()
	if k2 == k1 {
		t.Fatalf("not renewed before expiry")
	}
	// Renewal fails while the current credentials are valid: keep them,
	// try again only after a backoff.
	src.fail = true
	clock = clock.Add(6500 * time.Millisecond) // 1.5s left
	if k, err := get(); err != nil || k != k2 {
		t.Fatalf("got %s, %v: want the current credentials", k, err)
	}
	calls := src.calls
	if _, err := get(); err != nil || src.calls != calls {
		t.Fatalf("retried without backoff (%d calls)", src.calls-calls)
	}
	// Expired and still failing: an error (the request is retried later).
	clock = clock.Add(3 * time.Second)
	if _, err := get(); err == nil || !strings.Contains(err.Error(), "exit status 1") {
		t.Fatalf("err %v", err)
	}
	src.fail = false
	if k, err := get(); err != nil || k == k2 {
		t.Fatalf("not recovered: %s %v", k, err)
	}
	if !strings.Contains(lb.String(), "renewal failed") || !strings.Contains(lb.String(), "renewed after failures") {
		t.Errorf("log:\n%s", lb.String())
	}
}

func TestTransportErrorKeepsChain(t *testing.T) {
	cfg := DefaultConfig()
	cfg.URLs = []string{"http://127.0.0.1:1"} // nothing listens
	c, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "/", nil)
	_, err = c.OpenSearch().Perform(req)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err %v: want context.Canceled in the chain", err)
	}
}

func TestTLS(t *testing.T) {
	srv := httptest.NewTLSServer(&node{})
	defer srv.Close()
	dir := t.TempDir()
	ca := dir + "/ca.pem"
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := dir + "/bad.pem"
	os.WriteFile(bad, []byte("not a certificate"), 0o600)
	try := func(caFile string, insecure bool) (error, string) {
		lb := &logBuf{}
		cfg := DefaultConfig()
		cfg.URLs, cfg.CAFile, cfg.Insecure, cfg.Logger = []string{srv.URL}, caFile, insecure, zerolog.New(lb)
		c, err := New(context.Background(), cfg)
		if err != nil {
			return err, lb.String()
		}
		req, _ := http.NewRequest("GET", "/", nil)
		resp, err := c.OpenSearch().Perform(req)
		if err == nil {
			resp.Body.Close()
		}
		return err, lb.String()
	}
	if err, _ := try("", false); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("system roots only: err %v, want an unknown-authority error", err)
	}
	if err, log := try(ca, false); err != nil || log != "" {
		t.Errorf("--opensearch-ca: err %v, log %q", err, log)
	}
	if err, _ := try(bad, false); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("bad CA file: err %v", err)
	}
	if err, log := try("", true); err != nil || !strings.Contains(log, "NOT verified") {
		t.Errorf("--opensearch-insecure: err %v, log %q: want success and a warning", err, log)
	}
}

// A body the request cannot hand out again (no GetBody, unknown length) is
// buffered, signed with its length, and resent uncompressed on a refusal.
func TestOpaqueBodyFallback(t *testing.T) {
	p, c, n, _ := proxyAndClient(t, true, true, testSecret)
	req, _ := http.NewRequest("POST", "/_bulk", io.MultiReader(strings.NewReader(bulkBody[:100]), strings.NewReader(bulkBody[100:])))
	if req.GetBody != nil || req.ContentLength != 0 {
		t.Fatal("test needs an opaque body")
	}
	resp, err := c.OpenSearch().Perform(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || len(n.bodies) != 1 || string(n.bodies[0]) != bulkBody {
		t.Fatalf("status %d, node got %d bodies; proxy %+v", resp.StatusCode, len(n.bodies), p.Stats())
	}
}
