package osclient

import (
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	on, off := true, false
	cases := []struct {
		name                    string
		in                      Config
		auth, svc, region, user string
		compress                bool
		urls                    string
		err                     string
	}{
		{name: "local node", in: Config{URLs: []string{"http://127.0.0.1:9200"}}, auth: "none", urls: "http://127.0.0.1:9200"},
		{name: "localhost trailing slash", in: Config{URLs: []string{"http://localhost:9200/"}}, auth: "none", urls: "http://localhost:9200"},
		{name: "domain", in: Config{URLs: []string{"https://search-siem-abc123.eu-west-1.es.amazonaws.com"}, FallbackRegion: "us-east-1"},
			auth: "sigv4", svc: "es", region: "eu-west-1", compress: true, urls: "https://search-siem-abc123.eu-west-1.es.amazonaws.com"},
		{name: "vpc domain with port", in: Config{URLs: []string{"https://vpc-siem-x.ap-northeast-1.es.amazonaws.com:443"}},
			auth: "sigv4", svc: "es", region: "ap-northeast-1", compress: true, urls: "https://vpc-siem-x.ap-northeast-1.es.amazonaws.com:443"},
		{name: "serverless", in: Config{URLs: []string{"https://abc123def.us-west-2.aoss.amazonaws.com"}},
			auth: "sigv4", svc: "aoss", region: "us-west-2", compress: true, urls: "https://abc123def.us-west-2.aoss.amazonaws.com"},
		{name: "china", in: Config{URLs: []string{"https://search-x.cn-north-1.es.amazonaws.com.cn"}},
			auth: "sigv4", svc: "es", region: "cn-north-1", compress: true, urls: "https://search-x.cn-north-1.es.amazonaws.com.cn"},
		{name: "custom endpoint, explicit sigv4: --region", in: Config{URLs: []string{"https://siem.example.com"}, Auth: "sigv4", FallbackRegion: "eu-central-1"},
			auth: "sigv4", svc: "es", region: "eu-central-1", compress: true, urls: "https://siem.example.com"},
		{name: "explicit aoss on loopback proxy", in: Config{URLs: []string{"http://127.0.0.1:8443"}, Auth: "sigv4", SigV4Service: "aoss", FallbackRegion: "us-east-1"},
			auth: "sigv4", svc: "aoss", region: "us-east-1", urls: "http://127.0.0.1:8443"},
		{name: "basic from user", in: Config{URLs: []string{"https://os.internal:9200"}, Username: "siem", Password: "pw"}, auth: "basic", user: "siem", compress: true, urls: "https://os.internal:9200"},
		{name: "basic from URL user info", in: Config{URLs: []string{"https://siem:s3cret@os.internal:9200"}}, auth: "basic", user: "siem", compress: true, urls: "https://os.internal:9200"},
		{name: "compress forced off", in: Config{URLs: []string{"https://search-x.eu-west-1.es.amazonaws.com"}, Compress: &off}, auth: "sigv4", svc: "es", region: "eu-west-1", urls: "https://search-x.eu-west-1.es.amazonaws.com"},
		{name: "compress forced on", in: Config{URLs: []string{"http://127.0.0.1:9200"}, Compress: &on}, auth: "none", compress: true, urls: "http://127.0.0.1:9200"},
		{name: "some node remote", in: Config{URLs: []string{"http://127.0.0.1:9200", "http://10.0.0.5:9200"}}, auth: "none", compress: true, urls: "http://127.0.0.1:9200,http://10.0.0.5:9200"},
		{name: "aws host with user", in: Config{URLs: []string{"https://search-x.eu-west-1.es.amazonaws.com"}, Username: "master", Password: "pw"}, err: "unset --opensearch-user"},
		{name: "aws host with user, basic asked", in: Config{URLs: []string{"https://search-x.eu-west-1.es.amazonaws.com"}, Auth: "basic", Username: "master", Password: "pw"},
			auth: "basic", user: "master", compress: true, urls: "https://search-x.eu-west-1.es.amazonaws.com"},
		{name: "basic without user", in: Config{URLs: []string{"http://127.0.0.1:9200"}, Auth: "basic"}, err: "needs --opensearch-user"},
		{name: "sigv4 without region", in: Config{URLs: []string{"https://siem.example.com"}, Auth: "sigv4"}, err: "needs a region"},
		{name: "bad service", in: Config{URLs: []string{"https://siem.example.com"}, Auth: "sigv4", SigV4Service: "s3", FallbackRegion: "x"}, err: "want es (domains) or aoss"},
		{name: "bad auth", in: Config{URLs: []string{"http://127.0.0.1:9200"}, Auth: "kerberos"}, err: "want none, basic or sigv4"},
		{name: "no URL", in: Config{URLs: []string{" "}}, err: "at least one URL"},
		{name: "bad scheme keeps password out", in: Config{URLs: []string{"ftp://u:topsecret@x"}}, err: "want http://"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := c.in.Resolve()
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err %v, want %q", err, c.err)
				}
				if strings.Contains(err.Error(), "topsecret") || strings.Contains(err.Error(), "s3cret") {
					t.Fatalf("error holds the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Auth != c.auth || r.SigV4Service != c.svc || r.Region != c.region || r.Username != c.user || *r.Compress != c.compress || strings.Join(r.URLs, ",") != c.urls {
				t.Errorf("got auth=%s svc=%s region=%s user=%s compress=%t urls=%s", r.Auth, r.SigV4Service, r.Region, r.Username, *r.Compress, strings.Join(r.URLs, ","))
			}
			if strings.Contains(r.Summary(), "s3cret") || strings.Contains(r.Summary(), "pw") {
				t.Errorf("summary holds the password: %s", r.Summary())
			}
		})
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:9200":                     "http://127.0.0.1:9200",
		"https://u:secret@h:9200,https://v:other@g": "https://u:xxxxx@h:9200,https://v:xxxxx@g",
		"https://u:sec%zzret@h":                     "https://xxxxx@h",
		"https://user@h/":                           "https://user@h/",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestScrub(t *testing.T) {
	got := Scrub("token=abcdefXYZ secret=abcdef pw=hunter22", "abcdef", "abcdefXYZ", "hunter22", "", "ab")
	if want := "token=[redacted] secret=[redacted] pw=[redacted]"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// FuzzResolve: no URL, however odd, panics or leaks its password into an
// error or the summary.
func FuzzResolve(f *testing.F) {
	for _, s := range []string{"http://127.0.0.1:9200", "https://u:pw@search-x.eu-west-1.es.amazonaws.com", "https://x.aoss.amazonaws.com.cn", "::", "http://[::1]:9200/", "https://u:p%zz@h"} {
		f.Add(s, "")
	}
	f.Fuzz(func(t *testing.T, u, auth string) {
		c := DefaultConfig()
		c.URLs, c.Auth = []string{u}, auth
		r, err := c.Resolve()
		const pw = "fuzz-secret-pw"
		c.Password = pw
		if err == nil {
			_ = r.Summary()
		}
		if _, err := c.Resolve(); err != nil && strings.Contains(err.Error(), pw) {
			t.Fatalf("error holds the password: %v", err)
		}
		_ = RedactURL(u)
	})
}
