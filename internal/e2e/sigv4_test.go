package e2e

// SigV4 end to end: the consumer, replay and `templates install` write to
// the real OpenSearch node through sigv4proxy, which verifies every
// request's signature as an Amazon OpenSearch Service domain does (and
// refuses anything else with AWS's 403). Exact document counts, gzip on
// and off, the gzip-refusal fallback, credentials that expire every few
// seconds, and a scan of everything the processes wrote for the secrets
// they were given.

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/siemstream/siemstream/internal/e2e/sigv4proxy"
)

// sigv4Secrets are the known secrets of a run: none of them may appear in
// anything a process writes, in -h output or in a dead letter.
type sigv4Secrets struct {
	KeyID, Secret, Token, Password string
}

func newSecrets() sigv4Secrets {
	r := fmt.Sprintf("%08x", rand.Uint32())
	return sigv4Secrets{
		KeyID:    "ASIAE2ESIGV4" + strings.ToUpper(r),
		Secret:   "e2e-secret-key-" + r + "-do-not-print",
		Token:    "e2e-session-token-" + r + "-do-not-print",
		Password: "e2e-basic-password-" + r + "-do-not-print",
	}
}

func (s sigv4Secrets) list() []string { return []string{s.Secret, s.Token, s.Password} }

// checkNoSecrets fails if what holds a secret or an Authorization header.
func checkNoSecrets(t *testing.T, where, what string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(what, s) {
			i := strings.Index(what, s)
			t.Errorf("%s holds the secret %q: …%s…", where, s, what[max(0, i-200):min(len(what), i+len(s)+50)])
		}
	}
	for _, marker := range []string{"AWS4-HMAC-SHA256 Credential=", "Signature=", "Authorization: "} {
		if strings.Contains(what, marker) {
			i := strings.Index(what, marker)
			t.Errorf("%s holds an Authorization header (%q): …%s…", where, marker, what[max(0, i-100):min(len(what), i+200)])
		}
	}
}

// sigv4Env is the environment of a process that signs with static
// temporary credentials through the proxy at url.
func sigv4Env(url string, sec sigv4Secrets, compress bool) []string {
	return []string{
		"OPENSEARCH_URL=" + url, "SIEM_OPENSEARCH_AUTH=sigv4", fmt.Sprintf("SIEM_OPENSEARCH_COMPRESS=%t", compress),
		"AWS_ACCESS_KEY_ID=" + sec.KeyID, "AWS_SECRET_ACCESS_KEY=" + sec.Secret, "AWS_SESSION_TOKEN=" + sec.Token,
		// Set but unused with sigv4 (no user): must not leak either.
		"OPENSEARCH_PASSWORD=" + sec.Password,
		"SIEM_EXCLUDE_SSM_PREFIX=", "SIEM_LOG_LEVEL=info",
	}
}

func startProxy(t *testing.T, s *Stack, keys *sigv4proxy.Keyring, refuseGzip bool) *sigv4proxy.Server {
	t.Helper()
	p, err := sigv4proxy.Start(sigv4proxy.Config{Target: s.OpenSearch, Region: "us-east-1", Service: "es", Keys: keys, RefuseGzip: refuseGzip})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// signingProxy starts a verifying proxy in front of the stack's OpenSearch
// that accepts the credentials of sec.
func signingProxy(t *testing.T, s *Stack, sec sigv4Secrets, refuseGzip bool) *sigv4proxy.Server {
	t.Helper()
	keys := &sigv4proxy.Keyring{}
	keys.Add(sigv4proxy.Key{ID: sec.KeyID, Secret: sec.Secret, Token: sec.Token})
	return startProxy(t, s, keys, refuseGzip)
}

// badVPCObject is a VPC flow log object with one unparseable line: a dead
// letter.
func badVPCObject(t *testing.T, seed uint64, t0 time.Time) (Object, int) {
	t.Helper()
	ds, err := Generate("vpcflowlogs", 1, 30, seed, t0)
	if err != nil {
		t.Fatal(err)
	}
	o := ds.Objects[0]
	zr, err := gzip.NewReader(bytes.NewReader(o.Body))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	lines := strings.SplitAfter(string(plain), "\n")
	lines[10] = "2 123456789012 eni-0 10.0.0.1 10.0.0.2 1 2 6 1 40 1741953600 notanumber ACCEPT OK\n"
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	zw.Write([]byte(strings.Join(lines, "")))
	zw.Close()
	o.Body, o.Events = zb.Bytes(), 29
	return o, 1
}

// gjsonNames lists the index template names of a GET _index_template answer.
func gjsonNames(b []byte) []string {
	var names []string
	for _, n := range gjson.GetBytes(b, "index_templates.#.name").Array() {
		names = append(names, n.String())
	}
	return names
}

// logsOf returns everything the fleet's processes wrote (stdout, stderr
// and their log files).
func logsOf(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err == nil {
			b.Write(data)
		}
	}
	return b.String()
}

// TestSigV4ConsumerReplayTemplates: templates install (gzip), a consumer
// (gzip) and a replay (no gzip) through the verifying proxy load exactly
// the events uploaded; a dead letter is written through it too; nothing a
// process wrote, and no dead letter, holds a secret.
func TestSigV4ConsumerReplayTemplates(t *testing.T) {
	ctx, s, bin := startTest(t, 5*time.Minute)
	sec := newSecrets()
	px := signingProxy(t, s, sec, false)

	f := testFleet(t, ctx, s, bin, "sigv4", 2, sigv4Env(px.URL(), sec, true), t.Logf)

	// templates install, signed and gzipped. The shared cluster has the
	// templates already (install is idempotent), so a dead-letter prefix
	// of this test's own makes install write one template.
	dlPrefix := fmt.Sprintf("sv4dl-%08x", rand.Uint32())
	t.Cleanup(func() {
		b, err := s.Do(context.Background(), "GET", "/_index_template/*"+dlPrefix+"*", nil)
		if err == nil {
			for _, name := range gjsonNames(b) {
				_, _ = s.Do(context.Background(), "DELETE", "/_index_template/"+name, nil)
			}
		}
	})
	tp, err := Start(bin, "templates", f.LogDir, append(f.Res.Env(), f.Env...), "templates", "install", "--dead-letter-index", dlPrefix)
	if err != nil {
		t.Fatal(err)
	}
	if err := tp.Wait(ctx); err != nil {
		t.Fatalf("templates install through the proxy: %v\n%s", err, tail(tp.Output(), 3000))
	}
	st := px.Stats()
	if st.Verified == 0 || st.GzipBodies == 0 || len(st.Refused) != 0 || !strings.Contains(tp.Output(), "created") {
		t.Fatalf("templates install: proxy stats %+v\n%s", st, tail(tp.Output(), 3000))
	}
	t.Logf("templates install: %d signed requests verified (%d gzip bodies)", st.Verified, st.GzipBodies)

	t0 := time.Now().Add(-20 * time.Minute).UTC()
	ds, err := Generate("vpcflowlogs", 3, 1500, uint64(rand.N(1<<20)), t0)
	if err != nil {
		t.Fatal(err)
	}
	bad, deadLetters := badVPCObject(t, uint64(rand.N(1<<20))+1<<21, t0)
	want := ds.Events + int64(bad.Events)

	if _, err := f.Consumer("c1", consumerArgs()...); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Producer("p1", producerArgs()...); err != nil {
		t.Fatal(err)
	}
	if err := s.UploadAll(ctx, f.Res.Bucket, ds); err != nil {
		t.Fatal(err)
	}
	if err := s.Upload(ctx, f.Res.Bucket, bad.Key, bad.Body); err != nil {
		t.Fatal(err)
	}
	took, err := s.WaitIndexed(ctx, "log-*", f.Res.Bucket, want, 3*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	dlQuery := map[string]any{"match_phrase": map[string]any{"s3.bucket": f.Res.Bucket}}
	if err := WaitFor(ctx, time.Minute, func() (bool, error) {
		n, err := s.Count(ctx, "siemstream-deadletter-*", dlQuery)
		return err == nil && n == int64(deadLetters), nil
	}); err != nil {
		t.Fatalf("dead letters through the proxy: %v", err)
	}
	st = px.Stats()
	t.Logf("consumer (gzip): %d events in %s; proxy %+v", want, took.Round(time.Millisecond), st)
	if st.GzipBodies < 2 || len(st.Refused) != 0 {
		t.Errorf("consumer: proxy stats %+v: want gzip bodies and no refusal", st)
	}

	// Replay the stream, uncompressed, into suffixed indices (debug log:
	// its completion probe logs why a shard is not finished, and the
	// secret scan covers debug lines too).
	plainBefore := st.PlainBodies
	sfx := fmt.Sprintf("-sigv4replay-%04x", rand.N(1<<16))
	rp, err := f.Replay("r1", "--from", "1h", "--app-name", f.Res.App+"-replay", "--index-suffix", sfx,
		"--opensearch-compress=false", "--failover-time-ms", "5000", "--shard-sync-interval-ms", "1000",
		"--idle-time-between-reads-ms", "200", "--probe-interval", "1s", "--log-level", "debug")
	if err != nil {
		t.Fatal(err)
	}
	if err := rp.Wait(ctx); err != nil {
		t.Fatalf("replay: %v\n%s", err, tail(rp.Output(), 3000))
	}
	got, err := s.Deliveries(ctx, "log-*"+sfx, f.Res.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	if got.Docs != want {
		t.Errorf("replay through the proxy loaded %d documents, want %d", got.Docs, want)
	}
	st = px.Stats()
	if st.PlainBodies <= plainBefore || len(st.Refused) != 0 {
		t.Errorf("replay: proxy stats %+v: want uncompressed bodies (had %d) and no refusal", st, plainBefore)
	}
	t.Logf("replay (no gzip): %d documents; proxy %d verified, %d gzip, %d plain bodies", got.Docs, st.Verified, st.GzipBodies, st.PlainBodies)

	for _, err := range f.StopAll(30 * time.Second) {
		t.Errorf("stop: %v", err)
	}
	// Secrets: every byte the processes wrote, and the dead letters.
	checkNoSecrets(t, "process output", logsOf(t, f.LogDir)+tp.Output(), sec.list()...)
	dl, err := s.Search(ctx, "siemstream-deadletter-*", map[string]any{"size": 100, "query": dlQuery})
	if err != nil {
		t.Fatal(err)
	}
	checkNoSecrets(t, "dead-letter index", string(dl), sec.list()...)
}

// TestSigV4GzipRefused: a domain that refuses signed gzip bodies (403, as
// es-loader met): the consumer falls back to uncompressed bodies once, logs
// it once, and loads every event.
func TestSigV4GzipRefused(t *testing.T) {
	ctx, s, bin := startTest(t, 4*time.Minute)
	sec := newSecrets()
	px := signingProxy(t, s, sec, true)
	f := testFleet(t, ctx, s, bin, "sigv4gz", 2, sigv4Env(px.URL(), sec, true), t.Logf)
	ds, err := Generate("vpcflowlogs", 2, 1500, uint64(rand.N(1<<20)), time.Now().Add(-10*time.Minute).UTC())
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.Consumer("c1", consumerArgs()...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Producer("p1", producerArgs()...); err != nil {
		t.Fatal(err)
	}
	if err := s.UploadAll(ctx, f.Res.Bucket, ds); err != nil {
		t.Fatal(err)
	}
	if _, err := s.WaitIndexed(ctx, "log-*", f.Res.Bucket, ds.Events, 3*time.Minute); err != nil {
		t.Fatal(err)
	}
	st := px.Stats()
	if st.Refused["gzip-refused"] < 1 || st.PlainBodies < 1 {
		t.Errorf("proxy stats %+v: want a refused gzip body, then plain ones", st)
	}
	if n := strings.Count(c.Output(), "request compression is off"); n != 1 {
		t.Errorf("fallback logged %d times, want once", n)
	}
	t.Logf("gzip refused: %d events loaded; proxy %+v", ds.Events, st)
	for _, err := range f.StopAll(30 * time.Second) {
		t.Errorf("stop: %v", err)
	}
	checkNoSecrets(t, "process output", logsOf(t, f.LogDir), sec.list()...)
}

// TestSigV4ExpiringCredentials: the consumer gets its credentials from a
// credential_process (through the SDK default chain) that hands out keys
// valid for a few seconds; the run spans several of them, and the credential
// source fails for a while in the middle. Nothing is lost.
func TestSigV4ExpiringCredentials(t *testing.T) {
	ctx, s, bin := startTest(t, 5*time.Minute)
	root, _ := RepoRoot() // startTest found it
	keys := &sigv4proxy.Keyring{}
	px := startProxy(t, s, keys, false)
	const lifetime = 8 * time.Second
	minter := &sigv4proxy.Minter{Keys: keys, Lifetime: lifetime}
	ms := httptest.NewServer(minter)
	defer ms.Close()

	dir := t.TempDir()
	credproc := filepath.Join(dir, "credproc")
	build := exec.CommandContext(ctx, "go", "build", "-o", credproc, "./internal/e2e/cmd/credproc")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build credproc: %v\n%s", err, out)
	}
	cfgFile, credFile := filepath.Join(dir, "config"), filepath.Join(dir, "credentials")
	if err := os.WriteFile(cfgFile, []byte("[default]\nregion = us-east-1\ncredential_process = "+credproc+" "+ms.URL+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(credFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{
		"OPENSEARCH_URL=" + px.URL(), "SIEM_OPENSEARCH_AUTH=sigv4", "SIEM_OPENSEARCH_COMPRESS=true",
		// No static keys: the default chain reaches the credential_process.
		"AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", "AWS_SESSION_TOKEN=", "AWS_PROFILE=",
		"AWS_CONFIG_FILE=" + cfgFile, "AWS_SHARED_CREDENTIALS_FILE=" + credFile,
		"SIEM_EXCLUDE_SSM_PREFIX=", "SIEM_LOG_LEVEL=info",
	}
	f := testFleet(t, ctx, s, bin, "sigv4exp", 2, env, t.Logf)
	// The producer keeps the stack's static keys.
	f.ProducerEnv = []string{"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_CONFIG_FILE=" + os.Getenv("AWS_CONFIG_FILE"), "AWS_SHARED_CREDENTIALS_FILE=" + os.Getenv("AWS_SHARED_CREDENTIALS_FILE")}
	c, err := f.Consumer("c1", consumerArgs("--batch-events", "500")...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Producer("p1", producerArgs()...); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	t0 := time.Now().Add(-30 * time.Minute).UTC()
	var want int64
	for wave := range 5 {
		ds, err := Generate("vpcflowlogs", 1, 1500, uint64(rand.N(1<<20))+uint64(wave)<<22, t0.Add(time.Duration(wave)*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if wave == 2 {
			// The credential source fails until the consumer has noticed
			// (a renewal failed, or requests could not be signed).
			minter.SetFail(true)
		}
		if err := s.UploadAll(ctx, f.Res.Bucket, ds); err != nil {
			t.Fatal(err)
		}
		want += ds.Events
		if wave == 2 {
			err := WaitFor(ctx, 3*lifetime, func() (bool, error) {
				return strings.Contains(c.Output(), "cannot get credentials"), exited(c)
			})
			minter.SetFail(false)
			if err != nil {
				t.Fatalf("the consumer did not notice the failing credential source: %v", err)
			}
		}
		if _, err := s.WaitIndexed(ctx, "log-*", f.Res.Bucket, want, 3*time.Minute); err != nil {
			t.Fatalf("wave %d: %v", wave, err)
		}
		// Let at least one credential lifetime pass between waves.
		if err := WaitFor(ctx, 2*lifetime, func() (bool, error) {
			return time.Since(start) >= time.Duration(wave+1)*lifetime, exited(c)
		}); err != nil {
			t.Fatal(err)
		}
	}
	st := px.Stats()
	t.Logf("expiring credentials: %d events over %s; %d keys minted, %d used to sign; proxy refused %v",
		want, time.Since(start).Round(time.Second), len(minter.Minted()), len(st.Keys), st.Refused)
	if len(st.Keys) < 2 {
		t.Errorf("signed with %d distinct keys, want ≥ 2 (credentials renewed)", len(st.Keys))
	}
	for _, err := range f.StopAll(30 * time.Second) {
		t.Errorf("stop: %v", err)
	}
	var minted []string
	for _, id := range minter.Minted() {
		if k, ok := keys.Get(id); ok {
			minted = append(minted, k.Secret, k.Token)
		}
	}
	checkNoSecrets(t, "process output", logsOf(t, f.LogDir), minted...)
}

// TestSecretsNeverPrinted: -h of every command with secrets in the
// environment, a consumer whose secret key is wrong (it must stop at once
// with a clear message) and templates install with a refused basic-auth
// password: none of what they print holds a secret.
func TestSecretsNeverPrinted(t *testing.T) {
	ctx, s, bin := startTest(t, 2*time.Minute)
	sec := newSecrets()
	keys := &sigv4proxy.Keyring{}
	keys.Add(sigv4proxy.Key{ID: sec.KeyID, Secret: "the-real-secret-" + sec.Secret, Token: sec.Token})
	px := startProxy(t, s, keys, false)
	env := append(os.Environ(), sigv4Env(px.URL(), sec, true)...)
	env = append(env, "OPENSEARCH_URL=https://siem:"+sec.Password+"@127.0.0.1:1", "OPENSEARCH_USER=siem")
	for _, cmd := range [][]string{{"producer"}, {"consumer"}, {"replay"}, {"normalize"}, {"backfill"}, {"redrive"}, {"templates", "install"}, {"templates", "show"}, {"logtypes"}, {"deadletters", "list"}, {"deadletters", "redrive"}, {"healthcheck"}, {"metrics"}} {
		out, _ := exec.CommandContext(ctx, bin, append(cmd, "-h")...).CombinedOutput()
		out2 := func() []byte {
			c := exec.CommandContext(ctx, bin, append(cmd, "-h")...)
			c.Env = env
			b, _ := c.CombinedOutput()
			return b
		}()
		checkNoSecrets(t, strings.Join(cmd, " ")+" -h", string(out)+string(out2), sec.list()...)
	}

	// A wrong secret key: the proxy answers 403 quoting the canonical
	// request (with the session token); the consumer stops at once.
	r, err := s.CreateResources(ctx, NewName("sigv4bad"), 1)
	if err != nil {
		t.Fatal(err)
	}
	dropResources(t, s, r)
	cenv := append(r.Env(), sigv4Env(px.URL(), sec, true)...)
	start := time.Now()
	p, err := Start(bin, "consumer", "", cenv, "consumer", "--opensearch-wait", "1m")
	if err != nil {
		t.Fatal(err)
	}
	werr := p.Wait(ctx)
	out := p.Output()
	if werr == nil || time.Since(start) > 30*time.Second || !strings.Contains(out, "OpenSearch refused the credentials (HTTP 403") {
		t.Errorf("consumer with a wrong secret key: exit %v after %s, want a quick failure naming the refusal:\n%s", werr, time.Since(start).Round(time.Millisecond), tail(out, 2000))
	}
	checkNoSecrets(t, "consumer output", out, append(sec.list(), "the-real-secret-"+sec.Secret)...)

	// Basic auth refused: the proxy wants SigV4 and answers 403.
	benv := append(os.Environ(), "OPENSEARCH_URL="+px.URL(), "OPENSEARCH_USER=siem", "OPENSEARCH_PASSWORD="+sec.Password)
	bp, err := Start(bin, "templates", "", benv, "templates", "install")
	if err != nil {
		t.Fatal(err)
	}
	if err := bp.Wait(ctx); err == nil {
		t.Errorf("templates install with refused basic auth succeeded")
	}
	checkNoSecrets(t, "templates install output", bp.Output(), sec.list()...)
}
