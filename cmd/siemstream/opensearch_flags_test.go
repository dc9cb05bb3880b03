package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

// Secrets set through the environment must never reach -h output (the env
// value is the flag's default, which flag.PrintDefaults prints).
func TestOpenSearchFlagsHelpHidesSecrets(t *testing.T) {
	t.Setenv("OPENSEARCH_PASSWORD", "pw-from-env-0001")
	t.Setenv("OPENSEARCH_URL", "https://siem:url-secret-0002@search-x.eu-west-1.es.amazonaws.com")
	t.Setenv("OPENSEARCH_USER", "siem")
	f := newFlags("consumer", "[flags]")
	f.str("region", "AWS_REGION", "us-east-1", "AWS region")
	v := openSearchFlags(f)
	var out bytes.Buffer
	f.SetOutput(&out)
	f.Usage()
	help := out.String()
	for _, s := range []string{"pw-from-env-0001", "url-secret-0002"} {
		if strings.Contains(help, s) {
			t.Errorf("-h shows %q:\n%s", s, help)
		}
	}
	for _, name := range []string{"opensearch-url", "opensearch-user", "opensearch-password", "opensearch-auth", "opensearch-sigv4-service", "opensearch-compress", "opensearch-ca", "opensearch-insecure"} {
		if !strings.Contains(help, "-"+name) {
			t.Errorf("-h lacks --%s", name)
		}
	}
	if err := f.Parse(nil); err != nil {
		t.Fatal(err)
	}
	c := v.Config(zerolog.Nop())
	if c.Password != "pw-from-env-0001" || c.Username != "siem" || c.Compress != nil {
		t.Errorf("config %+v", c)
	}
}

func TestOpenSearchFlagsParse(t *testing.T) {
	t.Setenv("SIEM_OPENSEARCH_COMPRESS", "false")
	t.Setenv("AWS_REGION", "ap-northeast-1")
	f := newFlags("templates install", "[flags]") // no --region of its own
	v := openSearchFlags(f)
	if err := f.Parse([]string{"--opensearch-url", "https://siem.example.com", "--opensearch-auth", "SigV4", "--opensearch-sigv4-service", "aoss", "--opensearch-compress", "--opensearch-password", "cli-pw"}); err != nil {
		t.Fatal(err)
	}
	c := v.Config(zerolog.Nop())
	if c.Auth != "sigv4" || c.SigV4Service != "aoss" || c.FallbackRegion != "ap-northeast-1" || c.Compress == nil || !*c.Compress || c.Password != "cli-pw" {
		t.Errorf("config %+v", c)
	}
	r, err := c.Resolve()
	if err != nil || r.Region != "ap-northeast-1" {
		t.Errorf("resolve: %v %+v", err, r)
	}
	f2 := newFlags("consumer", "[flags]")
	f2.str("region", "AWS_REGION", "us-east-1", "AWS region")
	v2 := openSearchFlags(f2)
	if err := f2.Parse([]string{"--opensearch-compress=false", "--region", "eu-north-1"}); err != nil {
		t.Fatal(err)
	}
	if c := v2.Config(zerolog.Nop()); c.Compress == nil || *c.Compress || c.FallbackRegion != "eu-north-1" {
		t.Errorf("config %+v", c)
	}
	if err := newFlagsWith(t).Parse([]string{"--opensearch-compress=maybe"}); err == nil {
		t.Error("--opensearch-compress=maybe accepted")
	}
}

func newFlagsWith(t *testing.T) *flags {
	f := newFlags("x", "")
	f.SetOutput(&bytes.Buffer{})
	openSearchFlags(f)
	return f
}
