package s3access

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/rs/zerolog"

	"github.com/siemstream/siemstream/internal/awsconf"
	"github.com/siemstream/siemstream/internal/e2e"
)

// TestRouter assumes roles through the local stack's STS (moto on :4566,
// which accepts any AssumeRole): one cache per role, refreshed after a
// short session, refused buckets failing only their own calls.
func TestRouter(t *testing.T) {
	if testing.Short() {
		t.Skip("uses the local stack's STS")
	}
	root, err := e2e.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := e2e.LoadEnv(root); err != nil || !ok {
		t.Skip("local stack not started: run `go tool task up`")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	base, err := awsconf.Load(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(`{"sources":[{"bucket":"xa-unit-*","role_arn":"arn:aws:iam::111122223333:role/xa-unit","duration_seconds":2},{"bucket":"plain"}]}`)
	if err != nil {
		t.Fatal(err)
	}
	cfg.AddEnv(func(string) string { return "" })
	r, err := New(cfg, base, zerolog.Nop(), awsconf.S3Options)
	if err != nil {
		t.Fatal(err)
	}
	a, err := r.Role("xa-unit-1")
	if err != nil || a == nil {
		t.Fatalf("Role: %v, %v", a, err)
	}
	if b, _ := r.Role("xa-unit-2"); b != a {
		t.Fatal("two buckets of one role must share its credentials cache")
	}
	if p, err := r.Role("plain"); p != nil || err != nil {
		t.Fatalf("plain bucket: %v, %v", p, err)
	}
	if got := r.Account("xa-unit-1"); got != "111122223333" {
		t.Fatalf("Account = %q", got)
	}

	// A refused bucket fails with its name and the reason, without a call.
	_, err = r.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("aws-security-data-lake-us-east-1-x"), Key: aws.String("k")})
	if err == nil || !strings.Contains(err.Error(), "bucket aws-security-data-lake-us-east-1-x") || !strings.Contains(err.Error(), "SECURITY_LAKE_ROLE_ARN") {
		t.Fatalf("refused bucket: %v", err)
	}

	// Two-second sessions: refreshed once the window before expiry is reached.
	if _, _, err := r.client(ctx, "xa-unit-1"); err != nil {
		t.Fatal(err)
	}
	c, err := a.creds.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := a.Retrieves.Load(); n != 1 {
		t.Fatalf("AssumeRole calls = %d, want 1", n)
	}
	if err := e2e.WaitFor(ctx, 10*time.Second, func() (bool, error) { return time.Now().After(c.Expires), nil }); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.client(ctx, "xa-unit-2"); err != nil {
		t.Fatal(err)
	}
	if n := a.Retrieves.Load(); n != 2 {
		t.Fatalf("AssumeRole calls after expiry = %d, want 2", n)
	}
}

// TestRouterRefusedRoleRemembered: an AssumeRole failure (here: nothing
// listens on the STS endpoint) fails the bucket's calls with bucket and role
// named, and is remembered for a while rather than retried per object.
func TestRouterRefusedRoleRemembered(t *testing.T) {
	ctx := context.Background()
	base := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String("http://127.0.0.1:1"), RetryMaxAttempts: 1,
		Credentials: aws.AnonymousCredentials{}}
	cfg, err := Load(`[{"bucket":"archive","role_arn":"arn:aws:iam::111122223333:role/gone","session_name":"s1"}]`)
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(cfg, base, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	_, err1 := r.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("archive"), Key: aws.String("k")})
	want := "bucket archive: assume role arn:aws:iam::111122223333:role/gone (account 111122223333, session s1)"
	if err1 == nil || !strings.Contains(err1.Error(), want) {
		t.Fatalf("err = %v, want it to contain %q", err1, want)
	}
	role, _ := r.Role("archive")
	first := role.failErr
	_, err2 := r.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("archive")})
	if err2 == nil || role.failErr != first {
		t.Fatalf("second call did not reuse the remembered failure: %v", err2)
	}
}
