package osclient

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/klauspost/compress/gzip"
	"github.com/opensearch-project/opensearch-go/v4/signer"
	"github.com/rs/zerolog"
)

// GzipLevel is the request compression level: klauspost/compress's
// fastest gzip level costs a fraction of the default level's CPU on
// _bulk bodies for a slightly larger body (see bench/cmd/benchrun/transport.go).
const GzipLevel = gzip.BestSpeed

// maxErrorBody bounds how much of an error response is read for scrubbing.
const maxErrorBody = 1 << 20

// transport is the http.RoundTripper under the opensearch-go client: it
// compresses, signs, falls back to uncompressed bodies when a cluster
// refuses signed gzip bodies, and scrubs secrets from error responses.
type transport struct {
	base     http.RoundTripper
	signer   signer.Signer // nil unless sigv4
	creds    *creds        // nil unless sigv4
	password string
	basic    string // base64 of user:password (the basic Authorization value)
	log      zerolog.Logger

	compress atomic.Bool
	gzips    sync.Pool // *gzip.Writer
	lastGz   atomic.Int64
}

// RoundTrip implements http.RoundTripper.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	hasBody := req.Body != nil && req.Body != http.NoBody
	if !hasBody || !t.compress.Load() {
		out := req.Clone(req.Context())
		if hasBody && t.signer != nil && out.ContentLength <= 0 {
			// The signature covers Content-Length; a body of unknown
			// length would go out chunked.
			plain, err := readBody(req)
			if err != nil {
				return nil, fmt.Errorf("%s %s: read request body: %w", req.Method, req.URL.Path, err)
			}
			out = withBody(req, plain, "")
		}
		if err := t.sign(out); err != nil {
			closeBody(req)
			return nil, err
		}
		return t.send(out)
	}
	// Compress straight from the caller's body. A request that can hand
	// out its body again (GetBody: http.NewRequest over bytes or a string,
	// as every caller here makes them) needs no copy of the plain bytes
	// for a fallback; any other body is read into memory first.
	var plain []byte
	src, size := io.Reader(req.Body), req.ContentLength
	if req.GetBody == nil {
		var err error
		if plain, err = readBody(req); err != nil {
			return nil, fmt.Errorf("%s %s: read request body: %w", req.Method, req.URL.Path, err)
		}
		src, size = bytes.NewReader(plain), int64(len(plain))
	}
	gz, err := t.gzip(src, size)
	closeBody(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: gzip request body: %w", req.Method, req.URL.Path, err)
	}
	out := withBody(req, gz, "gzip")
	if err := t.sign(out); err != nil {
		return nil, err
	}
	resp, err := t.send(out)
	if err != nil || (resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden) {
		return resp, err
	}
	// es-loader: a domain may refuse a signed gzip body ("AuthN or AuthZ
	// Exception raised due to SigV4 issue. http_compress has been
	// disabled"). Send the same request uncompressed; if that one is
	// accepted, stop compressing for the rest of the process.
	refused := resp.StatusCode
	msg, _ := io.ReadAll(resp.Body) // already scrubbed and bounded by send
	resp.Body.Close()
	if plain == nil {
		rc, err := req.GetBody()
		if err != nil {
			return nil, fmt.Errorf("%s %s: request body again: %w", req.Method, req.URL.Path, err)
		}
		plain, err = readBody(&http.Request{Body: rc, ContentLength: req.ContentLength})
		if err != nil {
			return nil, fmt.Errorf("%s %s: read request body: %w", req.Method, req.URL.Path, err)
		}
	}
	again := withBody(req, plain, "")
	if err := t.sign(again); err != nil {
		return nil, err
	}
	resp, err = t.send(again)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden {
		if t.compress.CompareAndSwap(true, false) {
			t.log.Warn().Int("status", refused).Str("response", truncate(msg, 300)).
				Msg("OpenSearch refused a gzip-compressed request and accepted it uncompressed: request compression is off for the rest of this process (es-loader does the same)")
		}
	}
	return resp, nil
}

// Compressing reports whether request bodies are gzipped now.
func (t *transport) Compressing() bool { return t.compress.Load() }

func (t *transport) sign(r *http.Request) error {
	if t.signer == nil {
		return nil
	}
	if err := t.signer.SignRequest(r); err != nil {
		return &scrubbedError{msg: fmt.Sprintf("%s %s: sign request: %s", r.Method, r.URL.Path, t.scrub(err.Error(), r)), err: err}
	}
	return nil
}

// scrubbedError carries an error whose message had secrets removed; the
// chain stays intact for errors.Is/As (context.Canceled, net.Error).
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// send runs the request and scrubs an error response's body, so no caller
// can put a secret the cluster echoed (AWS quotes the canonical request,
// session token included, in a signature mismatch) into a log or error.
func (t *transport) send(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		return nil, &scrubbedError{msg: t.scrub(err.Error(), r), err: err}
	}
	if resp.StatusCode < 400 {
		return resp, nil
	}
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
	if rerr != nil {
		body = append(body, fmt.Sprintf(" (response cut: %s)", t.scrub(rerr.Error(), r))...)
	}
	clean := []byte(t.scrub(string(body), r))
	resp.Body = io.NopCloser(bytes.NewReader(clean))
	resp.ContentLength = int64(len(clean))
	resp.Header.Del("Content-Length")
	resp.Header.Del("Content-Encoding")
	return resp, nil
}

// scrub replaces every secret this request could carry.
func (t *transport) scrub(s string, r *http.Request) string {
	secrets := []string{t.password, t.basic}
	if t.creds != nil {
		secrets = append(secrets, t.creds.secrets()...)
	}
	if r != nil {
		if a := r.Header.Get("Authorization"); a != "" {
			secrets = append(secrets, a)
			if _, sig, ok := strings.Cut(a, "Signature="); ok {
				secrets = append(secrets, sig)
			}
		}
		secrets = append(secrets, r.Header.Get("X-Amz-Security-Token"))
	}
	return Scrub(s, secrets...)
}

// Scrub replaces each non-empty secret in s with [redacted], longest first
// (so a secret containing another is replaced whole).
func Scrub(s string, secrets ...string) string {
	uniq := make([]string, 0, len(secrets))
	for _, x := range secrets {
		if len(x) >= 4 && !contains(uniq, x) {
			uniq = append(uniq, x)
		}
	}
	for i := 1; i < len(uniq); i++ {
		for j := i; j > 0 && len(uniq[j]) > len(uniq[j-1]); j-- {
			uniq[j], uniq[j-1] = uniq[j-1], uniq[j]
		}
	}
	for _, x := range uniq {
		if strings.Contains(s, x) {
			s = strings.ReplaceAll(s, x, "[redacted]")
		}
	}
	return s
}

func contains(a []string, s string) bool {
	for _, x := range a {
		if x == s {
			return true
		}
	}
	return false
}

// gzip compresses size bytes (-1 or 0: unknown) read from src.
func (t *transport) gzip(src io.Reader, size int64) ([]byte, error) {
	zw, _ := t.gzips.Get().(*gzip.Writer)
	hint := int(t.lastGz.Load())
	if hint < int(size/16) {
		hint = int(size / 16)
	}
	// Fresh output buffer: the transport may still read it after
	// RoundTrip returns, so it cannot go back into a pool here.
	out := bytes.NewBuffer(make([]byte, 0, hint+hint/8+64))
	if zw == nil {
		var err error
		if zw, err = gzip.NewWriterLevel(out, GzipLevel); err != nil {
			return nil, err
		}
	} else {
		zw.Reset(out)
	}
	if _, err := io.Copy(zw, src); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	t.gzips.Put(zw)
	t.lastGz.Store(int64(out.Len()))
	return out.Bytes(), nil
}

// readBody reads and closes the request's body.
func readBody(req *http.Request) ([]byte, error) {
	defer closeBody(req)
	var buf bytes.Buffer
	if req.ContentLength > 0 {
		buf.Grow(int(req.ContentLength))
	}
	_, err := buf.ReadFrom(req.Body)
	return buf.Bytes(), err
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// withBody clones req with body b (Content-Encoding enc).
func withBody(req *http.Request, b []byte, enc string) *http.Request {
	out := req.Clone(req.Context())
	out.Body = io.NopCloser(bytes.NewReader(b))
	out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	out.ContentLength = int64(len(b))
	out.Header.Del("Content-Length")
	if enc != "" {
		out.Header.Set("Content-Encoding", enc)
	} else {
		out.Header.Del("Content-Encoding")
	}
	if len(b) == 0 {
		out.Body, out.GetBody = http.NoBody, nil
	}
	return out
}

func basicToken(user, pass string) string {
	if user == "" && pass == "" {
		return ""
	}
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}
