// Package sigv4proxy is a test stand-in for the front door of an Amazon
// OpenSearch Service domain: it checks each request's AWS Signature Version
// 4 the way AWS does and forwards the good ones, without their auth
// headers, to a real OpenSearch node.
//
// It recomputes every signature with aws-sdk-go-v2's v4 signer: the request
// is rebuilt from its signed headers only (same Host, raw path, query,
// X-Amz-Date), re-signed with the secret key the test keyring holds for the
// access key, and compared. Anything off is answered with AWS's status and
// message: unknown or expired keys, a missing or wrong session token, a
// scope of another region or service, a timestamp more than 5 minutes off,
// a body whose SHA-256 differs from X-Amz-Content-Sha256, a signature that
// does not match. A mode refuses gzip-compressed bodies the way some
// domains do, to exercise the client's fallback.
package sigv4proxy

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go/logging"
)

// MaxSkew is how far X-Amz-Date may be from the proxy's clock (AWS: 5 min).
const MaxSkew = 5 * time.Minute

// Key is one access key of the keyring.
type Key struct {
	ID, Secret, Token string
	// NotBefore/NotAfter bound the key's validity; zero means unbounded.
	NotBefore, NotAfter time.Time
}

// Keyring maps access key ids to keys; safe for concurrent use.
type Keyring struct {
	mu   sync.Mutex
	keys map[string]Key
}

// Add puts k into the keyring (replacing a key with the same id).
func (k *Keyring) Add(key Key) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.keys == nil {
		k.keys = map[string]Key{}
	}
	k.keys[key.ID] = key
}

// Get returns the key with id.
func (k *Keyring) Get(id string) (Key, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	key, ok := k.keys[id]
	return key, ok
}

// Mint adds and returns a fresh temporary key valid from now for lifetime.
func (k *Keyring) Mint(now time.Time, lifetime time.Duration) Key {
	key := Key{
		ID:        "ASIATEST" + strings.ToUpper(randHex(6)),
		Secret:    "minted-secret-" + randHex(16),
		Token:     "minted-token-" + randHex(24),
		NotBefore: now.Add(-time.Second),
		NotAfter:  now.Add(lifetime),
	}
	k.Add(key)
	return key
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Config configures a proxy.
type Config struct {
	// Target is the OpenSearch node requests are forwarded to.
	Target string
	// Region and Service the credential scope must name.
	Region, Service string
	// Keys holds the accepted access keys.
	Keys *Keyring
	// RefuseGzip answers requests with a gzip-compressed body 403, as a
	// domain that cannot verify signed compressed bodies does.
	RefuseGzip bool
	// Now is the proxy's clock; nil means time.Now.
	Now func() time.Time
}

// Refusal is why a request was refused, as AWS reports it.
type Refusal struct {
	Status  int
	Reason  string // short, for counting: "signature", "expired-date", ...
	Message string
}

func (r *Refusal) Error() string { return fmt.Sprintf("%d %s: %s", r.Status, r.Reason, r.Message) }

// Stats counts what the proxy saw.
type Stats struct {
	Verified    int            // requests whose signature was good
	Forwarded   int            // requests passed to the target
	Refused     map[string]int // by reason
	GzipBodies  int            // verified requests with Content-Encoding: gzip
	PlainBodies int            // verified requests with an uncompressed body
	Keys        map[string]int // verified requests per access key id
}

// Proxy verifies and forwards.
type Proxy struct {
	cfg    Config
	target *url.URL
	client *http.Client
	signer *v4.Signer

	mu    sync.Mutex
	stats Stats
}

// New builds a proxy.
func New(cfg Config) (*Proxy, error) {
	u, err := url.Parse(cfg.Target)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("sigv4proxy: target %q: want http://host:port", cfg.Target)
	}
	if cfg.Keys == nil || cfg.Region == "" || cfg.Service == "" {
		return nil, errors.New("sigv4proxy: Keys, Region and Service are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Proxy{
		cfg: cfg, target: u, signer: v4.NewSigner(),
		client: &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}},
		stats:  Stats{Refused: map[string]int{}, Keys: map[string]int{}},
	}, nil
}

// Stats returns a copy of the counters.
func (p *Proxy) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.stats
	s.Refused, s.Keys = map[string]int{}, map[string]int{}
	for k, v := range p.stats.Refused {
		s.Refused[k] = v
	}
	for k, v := range p.stats.Keys {
		s.Keys[k] = v
	}
	return s
}

// SetRefuseGzip switches the gzip refusal on or off.
func (p *Proxy) SetRefuseGzip(on bool) {
	p.mu.Lock()
	p.cfg.RefuseGzip = on
	p.mu.Unlock()
}

// ServeHTTP verifies r and forwards it, or answers like AWS.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	arrived := p.cfg.Now()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	key, ref := p.Verify(r, body, arrived)
	p.mu.Lock()
	refuseGzip := p.cfg.RefuseGzip
	if ref == nil {
		p.stats.Verified++
		p.stats.Keys[key.ID]++
		if isGzip(r.Header) {
			p.stats.GzipBodies++
		} else if len(body) > 0 {
			p.stats.PlainBodies++
		}
		if refuseGzip && isGzip(r.Header) {
			ref = &Refusal{Status: http.StatusForbidden, Reason: "gzip-refused", Message: mismatchMessage}
		}
	}
	if ref != nil {
		p.stats.Refused[ref.Reason]++
	}
	p.mu.Unlock()
	if ref != nil {
		writeJSON(w, ref.Status, map[string]string{"message": ref.Message})
		return
	}
	p.forward(w, r, body)
}

func isGzip(h http.Header) bool {
	for _, v := range h.Values("Content-Encoding") {
		if strings.Contains(strings.ToLower(v), "gzip") {
			return true
		}
	}
	return false
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-amzn-ErrorType", "InvalidSignatureException")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

const mismatchMessage = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."

// auth is a parsed Authorization header.
type auth struct {
	keyID, date, region, service string
	signedHeaders                []string
	signedHeadersRaw, signature  string
}

func parseAuth(h string) (auth, error) {
	const alg = "AWS4-HMAC-SHA256"
	var a auth
	rest, ok := strings.CutPrefix(h, alg+" ")
	if !ok {
		return a, errors.New("Authorization header requires the AWS4-HMAC-SHA256 algorithm")
	}
	seen := map[string]bool{}
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return a, fmt.Errorf("Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters (got %q)", part)
		}
		seen[k] = true
		switch k {
		case "Credential":
			c := strings.Split(v, "/")
			if len(c) != 5 || c[4] != "aws4_request" {
				return a, fmt.Errorf("Credential should be ACCESSKEY/YYYYMMDD/region/service/aws4_request, got %q", v)
			}
			a.keyID, a.date, a.region, a.service = c[0], c[1], c[2], c[3]
		case "SignedHeaders":
			a.signedHeadersRaw = v
			a.signedHeaders = strings.Split(v, ";")
		case "Signature":
			a.signature = v
		}
	}
	if !seen["Credential"] || !seen["SignedHeaders"] || !seen["Signature"] {
		return a, errors.New("Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters")
	}
	if !sort.StringsAreSorted(a.signedHeaders) || !contains(a.signedHeaders, "host") {
		return a, errors.New("SignedHeaders must be sorted, lower case, and include host")
	}
	return a, nil
}

func contains(a []string, s string) bool {
	for _, x := range a {
		if x == s {
			return true
		}
	}
	return false
}

// Verify checks r (its body already read) as AWS would at time now and
// returns the key it was signed with, or why it is refused.
func (p *Proxy) Verify(r *http.Request, body []byte, now time.Time) (Key, *Refusal) {
	refuse := func(status int, reason, msg string) (Key, *Refusal) {
		return Key{}, &Refusal{Status: status, Reason: reason, Message: msg}
	}
	h := r.Header.Get("Authorization")
	if h == "" {
		return refuse(http.StatusForbidden, "missing", "Missing Authentication Token")
	}
	a, err := parseAuth(h)
	if err != nil {
		return refuse(http.StatusForbidden, "malformed", err.Error())
	}
	if a.region != p.cfg.Region {
		return refuse(http.StatusForbidden, "scope", fmt.Sprintf("Credential should be scoped to a valid region, not '%s'.", a.region))
	}
	if a.service != p.cfg.Service {
		return refuse(http.StatusForbidden, "scope", fmt.Sprintf("Credential should be scoped to correct service: '%s'.", p.cfg.Service))
	}
	// Headers that change the meaning of the request must be covered
	// when present: every x-amz-* header, and how the body is encoded.
	for name := range r.Header {
		l := strings.ToLower(name)
		if (strings.HasPrefix(l, "x-amz-") || l == "content-encoding" || l == "content-md5") && !contains(a.signedHeaders, l) {
			return refuse(http.StatusForbidden, "unsigned-header", fmt.Sprintf("Header '%s' is present but not signed.", l))
		}
	}
	const layout = "20060102T150405Z"
	amzDate := r.Header.Get("X-Amz-Date")
	t, err := time.Parse(layout, amzDate)
	if err != nil {
		return refuse(http.StatusForbidden, "malformed", "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
	}
	if !contains(a.signedHeaders, "x-amz-date") {
		return refuse(http.StatusForbidden, "malformed", "X-Amz-Date must be a signed header")
	}
	if a.date != t.Format("20060102") {
		return refuse(http.StatusForbidden, "scope", fmt.Sprintf("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.", a.date, t.Format("20060102"), amzDate))
	}
	now = now.UTC()
	if t.Before(now.Add(-MaxSkew)) {
		return refuse(http.StatusForbidden, "expired-date", fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - 5 min.)", amzDate, now.Add(-MaxSkew).Format(layout), now.Format(layout)))
	}
	if t.After(now.Add(MaxSkew)) {
		return refuse(http.StatusForbidden, "future-date", fmt.Sprintf("Signature not yet current: %s is still later than %s (%s + 5 min.)", amzDate, now.Add(MaxSkew).Format(layout), now.Format(layout)))
	}
	key, ok := p.cfg.Keys.Get(a.keyID)
	if !ok || (!key.NotBefore.IsZero() && now.Before(key.NotBefore)) {
		return refuse(http.StatusForbidden, "unknown-key", "The security token included in the request is invalid.")
	}
	if !key.NotAfter.IsZero() && !now.Before(key.NotAfter) {
		return refuse(http.StatusForbidden, "expired-key", "The security token included in the request is expired")
	}
	token := r.Header.Get("X-Amz-Security-Token")
	if token != key.Token {
		return refuse(http.StatusForbidden, "token", "The security token included in the request is invalid.")
	}
	sum := sha256.Sum256(body)
	payload := hex.EncodeToString(sum[:])
	if v := r.Header.Get("X-Amz-Content-Sha256"); v != "" && v != payload {
		return refuse(http.StatusBadRequest, "content-sha256", "The provided 'x-amz-content-sha256' header does not match what was computed.")
	}

	// Rebuild the request from what was signed, and sign it again.
	rawPath, rawQuery, _ := strings.Cut(r.RequestURI, "?")
	if rawPath == "" || rawPath[0] != '/' {
		return refuse(http.StatusBadRequest, "malformed", "request target must be a path")
	}
	re := &http.Request{
		Method: r.Method,
		URL:    &url.URL{Scheme: "http", Host: r.Host, Opaque: "//" + r.Host + rawPath, RawQuery: rawQuery},
		Host:   r.Host,
		Header: http.Header{},
	}
	for _, name := range a.signedHeaders {
		switch name {
		case "host":
		case "content-length":
			re.ContentLength = r.ContentLength
		default:
			vals := r.Header.Values(name)
			if len(vals) == 0 {
				return refuse(http.StatusForbidden, "signature", mismatchMessage)
			}
			re.Header[http.CanonicalHeaderKey(name)] = vals
		}
	}
	var log captureLog
	err = p.signer.SignHTTP(context.Background(),
		aws.Credentials{AccessKeyID: key.ID, SecretAccessKey: key.Secret, SessionToken: key.Token},
		re, payload, a.service, a.region, t,
		func(o *v4.SignerOptions) {
			o.DisableSessionToken = !contains(a.signedHeaders, "x-amz-security-token")
			o.Logger, o.LogSigning = &log, true
		})
	if err != nil {
		return refuse(http.StatusInternalServerError, "internal", "re-sign: "+err.Error())
	}
	want, err := parseAuth(re.Header.Get("Authorization"))
	if err != nil {
		return refuse(http.StatusInternalServerError, "internal", "re-sign: "+err.Error())
	}
	if want.signedHeadersRaw != a.signedHeadersRaw || !hmac.Equal([]byte(want.signature), []byte(a.signature)) {
		// AWS quotes what it computed; the canonical request holds the
		// signed header values (the session token among them): a client
		// must never log this body as it is.
		return refuse(http.StatusForbidden, "signature", mismatchMessage+log.String())
	}
	return key, nil
}

// captureLog keeps the SDK signer's debug output (canonical request and
// string to sign).
type captureLog struct{ b bytes.Buffer }

func (c *captureLog) Logf(_ logging.Classification, format string, v ...any) {
	fmt.Fprintf(&c.b, format, v...)
}

func (c *captureLog) String() string {
	s := c.b.String()
	canon, sts := section(s, "---[ CANONICAL STRING  ]-----------------------------"), section(s, "---[ STRING TO SIGN ]--------------------------------")
	if canon == "" {
		return ""
	}
	return "\n\nThe Canonical String for this request should have been\n'" + canon + "'\n\nThe String-to-Sign should have been\n'" + sts + "'\n"
}

func section(s, head string) string {
	i := strings.Index(s, head)
	if i < 0 {
		return ""
	}
	s = s[i+len(head)+1:]
	if j := strings.Index(s, "\n---"); j >= 0 {
		s = s[:j]
	}
	return s
}

// forward sends the verified request, minus its auth headers, to the target.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request, body []byte) {
	// The raw request target, as received: no re-encoding on the way.
	out, err := http.NewRequestWithContext(r.Context(), r.Method, strings.TrimRight(p.target.String(), "/")+r.RequestURI, bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	for k, vs := range r.Header {
		switch strings.ToLower(k) {
		case "authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256", "host", "content-length", "connection":
			continue
		}
		out.Header[k] = vs
	}
	resp, err := p.client.Do(out)
	if err != nil {
		http.Error(w, "forward: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	p.mu.Lock()
	p.stats.Forwarded++
	p.mu.Unlock()
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

// Server is a proxy listening on 127.0.0.1.
type Server struct {
	*Proxy
	ln  net.Listener
	srv *http.Server
}

// Start listens on 127.0.0.1 (a free port) and serves the proxy.
func Start(cfg Config) (*Server, error) {
	p, err := New(cfg)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{Proxy: p, ln: ln, srv: &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// URL is the proxy's base URL.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

// Minter hands out fresh temporary keys in the credential_process format
// (see cmd/credproc); Fail makes it answer 500 (a refresh failure).
type Minter struct {
	Keys     *Keyring
	Lifetime time.Duration
	Now      func() time.Time

	mu     sync.Mutex
	fail   bool
	minted []string
}

// SetFail makes the minter fail (true) or work (false).
func (m *Minter) SetFail(fail bool) {
	m.mu.Lock()
	m.fail = fail
	m.mu.Unlock()
}

// Minted returns the ids handed out so far.
func (m *Minter) Minted() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.minted...)
}

// ServeHTTP answers one credential_process JSON document.
func (m *Minter) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	m.mu.Lock()
	fail := m.fail
	m.mu.Unlock()
	if fail {
		http.Error(w, "credential source unavailable (test)", http.StatusInternalServerError)
		return
	}
	now := time.Now
	if m.Now != nil {
		now = m.Now
	}
	k := m.Keys.Mint(now(), m.Lifetime)
	m.mu.Lock()
	m.minted = append(m.minted, k.ID)
	m.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"Version": 1, "AccessKeyId": k.ID, "SecretAccessKey": k.Secret, "SessionToken": k.Token,
		"Expiration": k.NotAfter.UTC().Format(time.RFC3339),
	})
}
