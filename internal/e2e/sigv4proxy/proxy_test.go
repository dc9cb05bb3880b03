package sigv4proxy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// upstream records what reached the "node" behind the proxy.
type upstream struct {
	mu   sync.Mutex
	hdrs []http.Header
	uris []string
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.mu.Lock()
	u.hdrs = append(u.hdrs, r.Header.Clone())
	u.uris = append(u.uris, r.RequestURI)
	u.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{"ok":true}`)
}

var (
	keyStatic = Key{ID: "AKIDSTATIC0001", Secret: "static-secret-0001"}
	keyTemp   = Key{ID: "ASIATEMP0001", Secret: "temp-secret-0001", Token: "temp-token-0001"}
	keyOld    = Key{ID: "ASIAOLD0001", Secret: "old-secret", Token: "old-token", NotAfter: time.Now().Add(-time.Minute)}
)

func sign(t *testing.T, req *http.Request, body []byte, key Key, region, service string, at time.Time, withSHA bool) {
	t.Helper()
	sum := sha256.Sum256(body)
	h := hex.EncodeToString(sum[:])
	if withSHA {
		req.Header.Set("X-Amz-Content-Sha256", h)
	}
	err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: key.ID, SecretAccessKey: key.Secret, SessionToken: key.Token}, req, h, service, region, at)
	if err != nil {
		t.Fatal(err)
	}
}

func TestProxyVerify(t *testing.T) {
	up := &upstream{}
	target := httptest.NewServer(up)
	defer target.Close()
	keys := &Keyring{}
	for _, k := range []Key{keyStatic, keyTemp, keyOld} {
		keys.Add(k)
	}
	p, err := New(Config{Target: target.URL, Region: "eu-west-1", Service: "es", Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p)
	defer srv.Close()

	bulk := []byte(`{"index":{"_index":"log-aws-vpcflowlogs-2025-03","_id":"a"}}` + "\n" + `{"x":1}` + "\n")
	type tc struct {
		name    string
		key     Key
		region  string
		service string
		at      time.Duration // signing time relative to now
		path    string
		noSHA   bool
		before  func(*http.Request)               // before signing
		after   func(*http.Request) *http.Request // tampering after signing
		status  int
		reason  string
		message string
	}
	cases := []tc{
		{name: "good static key", key: keyStatic, status: 200},
		{name: "good session token", key: keyTemp, status: 200},
		{name: "good without content sha header", key: keyTemp, noSHA: true, status: 200},
		{name: "good encoded path, query to sort, header spaces", key: keyTemp, path: "/log-a%2Clog-b/_search?size=0&filter_path=hits.total,aggregations.*.value&a=2&a=1",
			before: func(r *http.Request) { r.Header.Set("X-Opaque-Id", "  two   spaces  ") }, status: 200},
		{name: "good gzip body signed", key: keyTemp, before: func(r *http.Request) { r.Header.Set("Content-Encoding", "gzip") }, status: 200},
		{name: "wrong secret", key: Key{ID: keyStatic.ID, Secret: "not-the-secret"}, status: 403, reason: "signature", message: "signature we calculated does not match"},
		{name: "unknown key", key: Key{ID: "AKIDUNKNOWN", Secret: "x"}, status: 403, reason: "unknown-key", message: "security token included in the request is invalid"},
		{name: "expired key", key: keyOld, status: 403, reason: "expired-key", message: "is expired"},
		{name: "missing session token", key: Key{ID: keyTemp.ID, Secret: keyTemp.Secret}, status: 403, reason: "token"},
		{name: "wrong region", key: keyStatic, region: "us-east-1", status: 403, reason: "scope"},
		{name: "wrong service", key: keyStatic, service: "aoss", status: 403, reason: "scope"},
		{name: "expired timestamp", key: keyStatic, at: -6 * time.Minute, status: 403, reason: "expired-date", message: "Signature expired: "},
		{name: "future timestamp", key: keyStatic, at: 6 * time.Minute, status: 403, reason: "future-date"},
		{name: "body changed after signing", key: keyTemp, after: func(r *http.Request) *http.Request {
			return withBody(r, bytes.Replace(bulk, []byte(`"x":1`), []byte(`"x":2`), 1))
		}, status: 400, reason: "content-sha256"},
		{name: "body changed after signing, no sha header", key: keyTemp, noSHA: true, after: func(r *http.Request) *http.Request {
			return withBody(r, bytes.Replace(bulk, []byte(`"x":1`), []byte(`"x":2`), 1))
		}, status: 403, reason: "signature"},
		{name: "gzip header added after signing", key: keyTemp, after: func(r *http.Request) *http.Request {
			r.Header.Set("Content-Encoding", "gzip")
			return r
		}, status: 403, reason: "unsigned-header"},
		{name: "x-amz header added after signing", key: keyTemp, after: func(r *http.Request) *http.Request {
			r.Header.Set("X-Amz-Target", "x")
			return r
		}, status: 403, reason: "unsigned-header"},
		{name: "signed header changed after signing", key: keyTemp, after: func(r *http.Request) *http.Request {
			r.Header.Set("Content-Type", "application/json")
			return r
		}, status: 403, reason: "signature", message: "x-amz-security-token:" + keyTemp.Token},
		{name: "unsigned harmless header added", key: keyTemp, after: func(r *http.Request) *http.Request {
			r.Header.Set("X-Trace", "1")
			return r
		}, status: 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := c.path
			if path == "" {
				path = "/_bulk?filter_path=errors,items.*.status,items.*.error.type"
			}
			req, _ := http.NewRequest(http.MethodPost, srv.URL+path, bytes.NewReader(bulk))
			req.Header.Set("Content-Type", "application/x-ndjson")
			if c.before != nil {
				c.before(req)
			}
			region, service := "eu-west-1", "es"
			if c.region != "" {
				region = c.region
			}
			if c.service != "" {
				service = c.service
			}
			sign(t, req, bulk, c.key, region, service, time.Now().Add(c.at), !c.noSHA)
			if c.after != nil {
				req = c.after(req)
			}
			sent := req.URL.RequestURI() // the signer puts the query in canonical order
			before := p.Stats()
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, b)
			}
			after := p.Stats()
			if c.status != 200 {
				if got := after.Refused[c.reason] - before.Refused[c.reason]; got != 1 {
					t.Errorf("refusals for %q: %d, want 1 (%v): %s", c.reason, got, after.Refused, b)
				}
				var m struct{ Message string }
				if err := json.Unmarshal(b, &m); err != nil || !strings.Contains(m.Message, c.message) {
					t.Errorf("body %s: want a JSON message containing %q", b, c.message)
				}
				return
			}
			if after.Forwarded != before.Forwarded+1 {
				t.Fatalf("not forwarded")
			}
			up.mu.Lock()
			h := up.hdrs[len(up.hdrs)-1]
			uri := up.uris[len(up.uris)-1]
			up.mu.Unlock()
			for k := range h {
				if lk := strings.ToLower(k); lk == "authorization" || strings.HasPrefix(lk, "x-amz-") {
					t.Errorf("forwarded with %s", k)
				}
			}
			if want := sent; uri != want {
				t.Errorf("forwarded %q, want %q (raw path and query kept)", uri, want)
			}
		})
	}
}

func TestProxyRefuseGzip(t *testing.T) {
	target := httptest.NewServer(&upstream{})
	defer target.Close()
	keys := &Keyring{}
	keys.Add(keyTemp)
	p, _ := New(Config{Target: target.URL, Region: "eu-west-1", Service: "es", Keys: keys, RefuseGzip: true})
	srv := httptest.NewServer(p)
	defer srv.Close()
	for _, gz := range []bool{true, false} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/_bulk", strings.NewReader("x"))
		if gz {
			req.Header.Set("Content-Encoding", "gzip")
		}
		sign(t, req, []byte("x"), keyTemp, "eu-west-1", "es", time.Now(), true)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if want := map[bool]int{true: 403, false: 200}[gz]; resp.StatusCode != want {
			t.Errorf("gzip=%t: status %d, want %d", gz, resp.StatusCode, want)
		}
	}
	if s := p.Stats(); s.Refused["gzip-refused"] != 1 || s.Forwarded != 1 {
		t.Errorf("stats %+v", s)
	}
}

func withBody(r *http.Request, b []byte) *http.Request {
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.ContentLength = int64(len(b))
	return r
}

func TestParseAuthMalformed(t *testing.T) {
	for _, h := range []string{
		"Basic dXNlcjpwYXNz",
		"AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/es, SignedHeaders=host, Signature=00",
		"AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/es/aws4_request, Signature=00",
		"AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/es/aws4_request, SignedHeaders=x-amz-date;host, Signature=00",
		"AWS4-HMAC-SHA256 garbage",
	} {
		if _, err := parseAuth(h); err == nil {
			t.Errorf("%q: accepted", h)
		}
	}
}

func FuzzParseAuth(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/es/aws4_request, SignedHeaders=host;x-amz-date, Signature=abcd")
	f.Add("AWS4-HMAC-SHA256 ,,,=")
	f.Fuzz(func(t *testing.T, h string) {
		_, _ = parseAuth(h)
	})
}
