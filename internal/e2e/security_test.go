package e2e

// Tests on the security profile of the local stack (`go tool task up --
// --opensearch security`): OpenSearch with the security plugin, TLS from a
// private CA, basic auth and the least-privilege role siemstream_writer
// (infra/local/security/roles.yml, documented in the README).

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"
)

// secProfile is what `up` wrote to .local/env for the security profile.
type secProfile struct {
	URL, CA                  string
	AdminUser, AdminPassword string
	User, Password           string
	root                     string
	stack                    *Stack // the core stack (S3, SQS, Kinesis, DynamoDB)
	admin                    *Stack // the security node as admin
}

// securityOrSkip skips unless the security profile is running.
func securityOrSkip(t *testing.T) secProfile {
	t.Helper()
	root, s := stackOrSkip(t)
	p := secProfile{
		URL: os.Getenv("SIEM_OS_SECURITY_URL"), CA: os.Getenv("SIEM_OS_SECURITY_CA"),
		AdminUser: os.Getenv("SIEM_OS_SECURITY_ADMIN_USER"), AdminPassword: os.Getenv("SIEM_OS_SECURITY_ADMIN_PASSWORD"),
		User: os.Getenv("SIEM_OS_SECURITY_USER"), Password: os.Getenv("SIEM_OS_SECURITY_PASSWORD"),
		root: root, stack: s,
	}
	if p.URL == "" || p.CA == "" || p.AdminPassword == "" {
		if os.Getenv(RequireTargetEnv) != "" {
			t.Fatalf("the security profile is not in .local/env and %s is set", RequireTargetEnv)
		}
		t.Skip("security profile not running: start it with `go tool task up -- --opensearch security` (`go tool task test` does)")
	}
	admin, err := s.WithOpenSearch(p.URL, p.AdminUser, p.AdminPassword, p.CA)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := admin.Do(ctx, http.MethodGet, "/_cluster/health", nil); err != nil {
		if os.Getenv(RequireTargetEnv) != "" {
			t.Fatalf("the security profile does not answer (%v) and %s is set", err, RequireTargetEnv)
		}
		t.Skipf("security profile in .local/env but not answering (%v): run `go tool task up -- --opensearch security`", err)
	}
	p.admin = admin
	return p
}

// tlsArgs returns how a siemstream subcommand is made to trust the
// profile's CA: --opensearch-ca when the binary has it, else (a binary
// from before the flag) SSL_CERT_FILE with the system roots plus the CA,
// which Go reads on Linux.
func (p secProfile) tlsArgs(t *testing.T, bin string, sub ...string) (args, env []string) {
	t.Helper()
	out, _ := exec.Command(bin, append(sub, "-h")...).CombinedOutput()
	if bytes.Contains(out, []byte("-opensearch-ca")) {
		return []string{"--opensearch-ca", p.CA}, nil
	}
	ca, err := os.ReadFile(p.CA)
	if err != nil {
		t.Fatal(err)
	}
	roots, _ := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	bundle := filepath.Join(t.TempDir(), "roots.pem")
	if err := os.WriteFile(bundle, append(append(roots, '\n'), ca...), 0o644); err != nil {
		t.Fatal(err)
	}
	return nil, []string{"SSL_CERT_FILE=" + bundle}
}

// userEnv points siemstream processes at the security node as user;
// the password goes through the environment, never argv.
func (p secProfile) userEnv(user, password string) []string {
	return []string{"OPENSEARCH_URL=" + p.URL, "OPENSEARCH_USER=" + user, "OPENSEARCH_PASSWORD=" + password,
		"SIEM_OPENSEARCH_AUTH=basic"}
}

// installTemplates runs `siemstream templates install` as admin: the
// identity the README says template installation runs with.
func (p secProfile) installTemplates(t *testing.T, ctx context.Context, bin string) {
	t.Helper()
	args, env := p.tlsArgs(t, bin, "templates", "install")
	cmd := exec.CommandContext(ctx, bin, append([]string{"templates", "install"}, args...)...)
	cmd.Env = append(append(os.Environ(), p.userEnv(p.AdminUser, p.AdminPassword)...), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("templates install as admin: %v\n%s", err, out)
	}
}

// waitCount waits until exactly want documents of the fleet's bucket are
// indexed, failing at once if the consumer exits or more arrive.
func (p secProfile) waitCount(ctx context.Context, f *Fleet, cons *Proc, want int64, timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	var got int64
	err := WaitFor(ctx, timeout, func() (bool, error) {
		if err := exited(cons); err != nil {
			return false, err
		}
		n, err := p.admin.CountBucket(ctx, "log-*", f.Res.Bucket)
		if err != nil {
			return false, nil
		}
		got = n
		if n > want {
			return false, fmt.Errorf("%d documents indexed, more than the %d events loaded", n, want)
		}
		return n == want, nil
	})
	if err != nil {
		return time.Since(start), fmt.Errorf("indexed %d of %d: %w", got, want, err)
	}
	return time.Since(start), nil
}

// securityFleet starts a consumer and a producer on fresh resources, the
// consumer writing to the security node as user (templates are installed
// by admin, so the consumer does not install them).
func (p secProfile) securityFleet(t *testing.T, ctx context.Context, bin, name, user, password string) (*Fleet, *Proc) {
	t.Helper()
	args, tlsEnv := p.tlsArgs(t, bin, "consumer")
	f := testFleet(t, ctx, p.stack, bin, name, 2, append(append(p.userEnv(user, password), tlsEnv...),
		"SIEM_INSTALL_TEMPLATES=false", "SIEM_EXCLUDE_SSM_PREFIX=", "SIEM_LOG_LEVEL=info",
		"SIEM_SHARD_SYNC_MS=500", "SIEM_IDLE_TIME_MS=200"), t.Errorf)
	cons, err := f.Consumer("c1", args...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Producer("p1"); err != nil {
		t.Fatal(err)
	}
	return f, cons
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// deadLetters counts the dead-letter documents of bucket on the node.
func deadLetters(ctx context.Context, s *Stack, bucket string) (int64, error) {
	return s.Count(ctx, "siemstream-deadletter*", map[string]any{"match_phrase": map[string]any{"s3.bucket": bucket}})
}

// TestSecurityPipeline: with the siemstream user and its least-privilege
// role, over HTTPS with the profile's CA and basic auth, the whole pipeline
// (S3 → SQS → producer → Kinesis → consumer → OpenSearch) loads exactly the
// events it was given, and nothing is dead-lettered.
func TestSecurityPipeline(t *testing.T) {
	p := securityOrSkip(t)
	bin := binary(t, p.root)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	p.installTemplates(t, ctx, bin)

	f, cons := p.securityFleet(t, ctx, bin, "sec", p.User, p.Password)
	t0 := time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)
	var want int64
	for i, lt := range []string{"vpcflowlogs", "cloudtrail", "alb"} {
		ds, err := Generate(lt, 2, 400, uint64(100+10*i), t0)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.stack.UploadAll(ctx, f.Res.Bucket, ds); err != nil {
			t.Fatal(err)
		}
		want += ds.Events
	}
	took, err := p.waitCount(ctx, f, cons, want, 3*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("security profile: %d events indexed over HTTPS as %s in %s", want, p.User, took.Round(time.Millisecond))
	d, err := p.admin.Deliveries(ctx, "log-*", f.Res.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	if d.Docs != want {
		t.Errorf("%d distinct documents, want %d", d.Docs, want)
	}
	if n, err := deadLetters(ctx, p.admin, f.Res.Bucket); err != nil || n != 0 {
		t.Errorf("dead letters: %d (%v), want 0", n, err)
	}
	for _, err := range f.StopAll(60 * time.Second) {
		t.Errorf("stop: %v", err)
	}
	if logs := f.Logs(1 << 20); strings.Contains(logs, "security_exception") {
		t.Errorf("the least-privilege role was refused something:\n%s", grepLines(logs, "security_exception", 5))
	}
}

// TestSecurityMissingPermission: a user whose role lacks one permission
// the consumer needs (indices:data/write/index, the role
// siemstream_writer_noindex of the profile) gets a clear error in the
// consumer's log naming the permission and the index; its documents are
// retried, not dead-lettered or dropped; once an admin grants the
// permission through the security REST API, every event arrives exactly.
func TestSecurityMissingPermission(t *testing.T) {
	p := securityOrSkip(t)
	bin := binary(t, p.root)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	p.installTemplates(t, ctx, bin)

	// A user and role of this test only, copied from the profile's
	// siemstream_writer_noindex, so that granting the permission changes
	// nothing for other runs.
	suffix := randHex(4)
	role, user, password := "siemstream_test_"+suffix, "siemstream_test_"+suffix, "Sx-"+randHex(12)
	getRole := func(name string) map[string]any {
		t.Helper()
		b, err := p.admin.Do(ctx, http.MethodGet, "/_plugins/_security/api/roles/"+name, nil)
		if err != nil {
			t.Fatalf("get role %s: %v", name, err)
		}
		r := gjson.GetBytes(b, name)
		return map[string]any{
			"cluster_permissions": r.Get("cluster_permissions").Value(),
			"index_permissions":   r.Get("index_permissions").Value(),
		}
	}
	must := func(method, path string, body any) {
		t.Helper()
		if _, err := p.admin.Do(ctx, method, path, body); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	must(http.MethodPut, "/_plugins/_security/api/roles/"+role, getRole("siemstream_writer_noindex"))
	must(http.MethodPut, "/_plugins/_security/api/internalusers/"+user, map[string]any{"password": password})
	must(http.MethodPut, "/_plugins/_security/api/rolesmapping/"+role, map[string]any{"users": []string{user}})
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, path := range []string{"rolesmapping/" + role, "internalusers/" + user, "roles/" + role} {
			_, _ = p.admin.Do(cctx, http.MethodDelete, "/_plugins/_security/api/"+path, nil)
		}
	})

	f, cons := p.securityFleet(t, ctx, bin, "secperm", user, password)
	ds, err := Generate("vpcflowlogs", 3, 500, 7, time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.stack.UploadAll(ctx, f.Res.Bucket, ds); err != nil {
		t.Fatal(err)
	}

	// The refusal is reported with the permission, the user and the index.
	const wantPerm = "no permissions for [indices:data/write/index]"
	var line string
	err = WaitFor(ctx, 2*time.Minute, func() (bool, error) {
		if err := exited(cons); err != nil {
			return false, err
		}
		line = grepLines(f.Logs(1<<20), wantPerm, 1)
		return line != "", nil
	})
	if err != nil {
		t.Fatalf("no consumer log line with %q: %v", wantPerm, err)
	}
	t.Logf("consumer reported: %s", line)
	for _, want := range []string{"missing OpenSearch permission on index log-aws-vpcflowlogs-", "User [name=" + user} {
		if !strings.Contains(line, want) {
			t.Errorf("the refusal line lacks %q: %s", want, line)
		}
	}
	if strings.Contains(f.Logs(1<<20), password) {
		t.Error("the password appears in a process log")
	}
	if n, err := p.admin.CountBucket(ctx, "log-*", f.Res.Bucket); err != nil || n != 0 {
		t.Errorf("%d documents indexed without the permission (%v), want 0", n, err)
	}

	// Grant it: the role becomes siemstream_writer. The retried documents arrive.
	must(http.MethodPut, "/_plugins/_security/api/roles/"+role, getRole("siemstream_writer"))
	took, err := p.waitCount(ctx, f, cons, ds.Events, 3*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("all %d events indexed %s after the grant", ds.Events, took.Round(time.Millisecond))
	if n, err := deadLetters(ctx, p.admin, f.Res.Bucket); err != nil || n != 0 {
		t.Errorf("dead letters: %d (%v), want 0", n, err)
	}
}

// TestSecurityTemplatesPermission: `siemstream templates install` as the
// writer-only user fails with an error that names the missing cluster
// permission and says how to install the templates instead.
func TestSecurityTemplatesPermission(t *testing.T) {
	p := securityOrSkip(t)
	bin := binary(t, p.root)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	args, env := p.tlsArgs(t, bin, "templates", "install")
	cmd := exec.CommandContext(ctx, bin, append([]string{"templates", "install"}, args...)...)
	cmd.Env = append(append(os.Environ(), p.userEnv(p.User, p.Password)...), env...)
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("templates install as %s succeeded; the writer role should not manage templates:\n%s", p.User, out)
	}
	for _, want := range []string{"no permissions for [", "User [name=" + p.User, "templates install", "admin"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), p.Password) {
		t.Error("the password appears in the output")
	}

	// A consumer started as that user with --install-templates (the
	// default) stops at start with the same explanation.
	r, err := p.stack.CreateResources(ctx, NewName("sectpl"), 1)
	if err != nil {
		t.Fatal(err)
	}
	cargs, cenv := p.tlsArgs(t, bin, "consumer")
	cons, err := Start(bin, "consumer", t.TempDir(), append(append(r.Env(), p.userEnv(p.User, p.Password)...), cenv...),
		append([]string{"consumer", "--install-templates=true"}, cargs...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Stop(10 * time.Second)
	select {
	case <-cons.Done():
	case <-ctx.Done():
		t.Fatalf("the consumer kept running without the template permissions:\n%s", tail(cons.Output(), 3000))
	}
	if !strings.Contains(cons.Output(), "no permissions for [") || !strings.Contains(cons.Output(), "--install-templates=false") {
		t.Errorf("the consumer's exit does not explain the missing template permission:\n%s", tail(cons.Output(), 3000))
	}
}

// grepLines returns up to n lines of s that contain sub.
func grepLines(s, sub string, n int) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
			if len(out) == n {
				break
			}
		}
	}
	return strings.Join(out, "\n")
}
