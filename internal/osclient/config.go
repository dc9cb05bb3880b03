package osclient

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/rs/zerolog"
)

// Authentication methods (--opensearch-auth).
const (
	AuthNone  = "none"
	AuthBasic = "basic"
	AuthSigV4 = "sigv4"
)

// SigV4 signing services (--opensearch-sigv4-service).
const (
	ServiceES   = "es"   // Amazon OpenSearch Service domains
	ServiceAOSS = "aoss" // Amazon OpenSearch Serverless collections
)

// Config says how to reach and authenticate to a cluster. Zero values of the
// optional fields are filled in by Resolve from the endpoint.
type Config struct {
	// URLs of the cluster's nodes (or its one endpoint), http or https.
	// User info in a URL (https://user:pass@host) is moved into
	// Username/Password when those are empty.
	URLs []string
	// Auth is none, basic or sigv4; "" means: sigv4 when the endpoint host
	// ends in .es.amazonaws.com or .aoss.amazonaws.com (or .amazonaws.com.cn),
	// basic when Username is set, else none.
	Auth string
	// Username/Password for basic auth.
	Username, Password string
	// SigV4Service is es or aoss; "" means aoss for *.aoss.amazonaws.com
	// hosts, else es.
	SigV4Service string
	// Region to sign for; "" means the region in the endpoint host, else
	// FallbackRegion (--region).
	Region, FallbackRegion string
	// Compress gzips request bodies; nil means on when any endpoint is not
	// a loopback address.
	Compress *bool
	// CAFile is a PEM file of extra certificate authorities, added to the
	// system roots (a private CA); "" means the system roots only.
	CAFile string
	// Insecure skips TLS certificate verification (logged at every start).
	Insecure bool
	// DialTimeout bounds a TCP connect; zero means 10s.
	DialTimeout time.Duration
	// TLSHandshakeTimeout bounds a TLS handshake; zero means 10s.
	TLSHandshakeTimeout time.Duration
	// IdleConnTimeout closes idle keep-alive connections; zero means 90s.
	IdleConnTimeout time.Duration
	// MaxIdleConnsPerHost keeps this many idle connections per node (one
	// per concurrently writing shard is ideal); zero means 64.
	MaxIdleConnsPerHost int
	// Credentials overrides the AWS SDK default credential chain (tests,
	// benchmarks); nil means the default chain.
	Credentials aws.CredentialsProvider
	// Logger receives start-up warnings, the compression fallback and
	// credential refresh failures; the zero value logs nothing.
	Logger zerolog.Logger
}

// DefaultConfig returns the defaults: the local node, everything else
// decided from the endpoint by Resolve.
func DefaultConfig() Config {
	return Config{
		URLs:                []string{"http://127.0.0.1:9200"},
		FallbackRegion:      "us-east-1",
		DialTimeout:         10 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
		IdleConnTimeout:     90 * time.Second,
		MaxIdleConnsPerHost: 64,
	}
}

// Resolve returns the config with URLs cleaned (user info moved out,
// trailing slashes removed) and Auth, SigV4Service, Region and Compress
// decided, then validated.
func (c Config) Resolve() (Config, error) {
	r := c
	r.URLs = nil
	for _, raw := range c.URLs {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		u, err := url.Parse(raw)
		if err != nil {
			// url.Parse quotes the whole input, user info included.
			return c, fmt.Errorf("opensearch URL %q: not a URL", redactRaw(raw))
		}
		if u.User != nil {
			if r.Username == "" && r.Password == "" {
				r.Username = u.User.Username()
				r.Password, _ = u.User.Password()
			}
			u.User = nil
		}
		u.Path = strings.TrimRight(u.Path, "/")
		u.RawPath = ""
		r.URLs = append(r.URLs, u.String())
	}
	if len(r.URLs) == 0 {
		return c, errors.New("opensearch: at least one URL is required (--opensearch-url)")
	}
	host := hostOf(r.URLs[0])
	aws, svc, region := awsEndpoint(host)
	if r.Auth == "" {
		switch {
		case aws:
			r.Auth = AuthSigV4
		case r.Username != "":
			r.Auth = AuthBasic
		default:
			r.Auth = AuthNone
		}
	}
	if r.Auth == AuthSigV4 {
		if r.SigV4Service == "" {
			r.SigV4Service = svc
			if r.SigV4Service == "" {
				r.SigV4Service = ServiceES
			}
		}
		if r.Region == "" {
			r.Region = region
		}
		if r.Region == "" {
			r.Region = r.FallbackRegion
		}
	}
	if r.Compress == nil {
		remote := false
		for _, s := range r.URLs {
			if !isLoopback(hostOf(s)) {
				remote = true
			}
		}
		r.Compress = &remote
	}
	return r, r.Validate()
}

// Validate checks a resolved config.
func (c Config) Validate() error {
	if len(c.URLs) == 0 {
		return errors.New("opensearch: at least one URL is required (--opensearch-url)")
	}
	for _, s := range c.URLs {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("opensearch URL %q: want http://host[:port] or https://host[:port]", redactRaw(s))
		}
	}
	switch c.Auth {
	case AuthNone:
	case AuthBasic:
		if c.Username == "" {
			return errors.New("--opensearch-auth basic needs --opensearch-user (and --opensearch-password)")
		}
	case AuthSigV4:
		if c.Username != "" {
			return errors.New("--opensearch-auth sigv4 signs with AWS credentials: unset --opensearch-user/--opensearch-password, or use --opensearch-auth basic for the cluster's internal users")
		}
		if c.SigV4Service != ServiceES && c.SigV4Service != ServiceAOSS {
			return fmt.Errorf("--opensearch-sigv4-service %q: want es (domains) or aoss (Serverless)", c.SigV4Service)
		}
		if c.Region == "" {
			return errors.New("--opensearch-auth sigv4 needs a region: none in the endpoint host, set --region")
		}
	case "":
		return errors.New("opensearch: auth not resolved (call Resolve)")
	default:
		return fmt.Errorf("--opensearch-auth %q: want none, basic or sigv4", c.Auth)
	}
	if c.DialTimeout < 0 || c.TLSHandshakeTimeout < 0 || c.IdleConnTimeout < 0 || c.MaxIdleConnsPerHost < 0 {
		return errors.New("opensearch: timeouts and connection limits must not be negative")
	}
	return nil
}

// Summary describes the connection for a start-up log line; it holds no
// secret.
func (c Config) Summary() string {
	var b strings.Builder
	b.WriteString(strings.Join(c.URLs, ","))
	b.WriteString(" auth=" + c.Auth)
	switch c.Auth {
	case AuthSigV4:
		b.WriteString(" service=" + c.SigV4Service + " region=" + c.Region)
	case AuthBasic:
		b.WriteString(" user=" + c.Username)
	}
	if c.Compress != nil {
		fmt.Fprintf(&b, " compress=%t", *c.Compress)
	}
	if c.CAFile != "" {
		b.WriteString(" ca=" + c.CAFile)
	}
	if c.Insecure {
		b.WriteString(" insecure=true")
	}
	return b.String()
}

// RedactURL returns s with the password of any user info replaced, for
// logs and -h output.
func RedactURL(s string) string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		out = append(out, redactRaw(p))
	}
	return strings.Join(out, ",")
}

func redactRaw(s string) string {
	if u, err := url.Parse(strings.TrimSpace(s)); err == nil {
		if u.User == nil {
			return s
		}
		return u.Redacted()
	}
	// Unparseable: cut anything between "//" and the last "@" of the host.
	if i := strings.Index(s, "//"); i >= 0 {
		rest := s[i+2:]
		end := strings.IndexAny(rest, "/?#")
		if end < 0 {
			end = len(rest)
		}
		if at := strings.LastIndex(rest[:end], "@"); at >= 0 {
			return s[:i+2] + "xxxxx" + rest[at:]
		}
	}
	return s
}

func hostOf(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Hostname())
}

// awsEndpoint recognises Amazon OpenSearch Service endpoints:
// <name>.<region>.es.amazonaws.com (domains) and
// <id>.<region>.aoss.amazonaws.com (Serverless), also under .amazonaws.com.cn.
func awsEndpoint(host string) (ok bool, service, region string) {
	host = strings.TrimSuffix(host, ".")
	var rest string
	switch {
	case strings.HasSuffix(host, ".amazonaws.com"):
		rest = strings.TrimSuffix(host, ".amazonaws.com")
	case strings.HasSuffix(host, ".amazonaws.com.cn"):
		rest = strings.TrimSuffix(host, ".amazonaws.com.cn")
	default:
		return false, "", ""
	}
	labels := strings.Split(rest, ".")
	n := len(labels)
	if n < 2 {
		return false, "", ""
	}
	switch labels[n-1] {
	case ServiceES, ServiceAOSS:
		service = labels[n-1]
	default:
		return false, "", ""
	}
	return true, service, labels[n-2]
}

func isLoopback(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
