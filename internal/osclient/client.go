package osclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/opensearch-project/opensearch-go/v4"
	"github.com/opensearch-project/opensearch-go/v4/signer/awsv2"
)

// Client is a configured OpenSearch client.
type Client struct {
	cfg Config
	os  *opensearch.Client
	tr  *transport
}

// New resolves cfg and builds the client. With sigv4 it loads the AWS SDK
// default configuration (environment, shared config, web identity, ECS and
// EC2 roles) unless cfg.Credentials is set; it does not contact the cluster.
func New(ctx context.Context, cfg Config) (*Client, error) {
	cfg, err := cfg.Resolve()
	if err != nil {
		return nil, err
	}
	d := DefaultConfig()
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = d.DialTimeout
	}
	if cfg.TLSHandshakeTimeout == 0 {
		cfg.TLSHandshakeTimeout = d.TLSHandshakeTimeout
	}
	if cfg.IdleConnTimeout == 0 {
		cfg.IdleConnTimeout = d.IdleConnTimeout
	}
	if cfg.MaxIdleConnsPerHost == 0 {
		cfg.MaxIdleConnsPerHost = d.MaxIdleConnsPerHost
	}
	tlsCfg, err := tlsConfig(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.Insecure {
		cfg.Logger.Warn().Msg("--opensearch-insecure: TLS certificates of OpenSearch are NOT verified; anyone on the path can read and change the data and the credentials. Use --opensearch-ca for a private CA instead")
	}
	base := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsCfg,
		TLSHandshakeTimeout:   cfg.TLSHandshakeTimeout,
		IdleConnTimeout:       cfg.IdleConnTimeout,
		MaxIdleConns:          cfg.MaxIdleConnsPerHost * max(1, len(cfg.URLs)),
		MaxIdleConnsPerHost:   cfg.MaxIdleConnsPerHost,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     true,
	}
	tr := &transport{base: base, log: cfg.Logger}
	tr.compress.Store(*cfg.Compress)
	oc := opensearch.Config{
		Addresses: cfg.URLs,
		Transport: tr,
		// Retries are the callers' (per item, with backoff); the client
		// must not resend whole bulk bodies behind their back.
		DisableRetry:          true,
		HealthCheckMaxRetries: -1,
	}
	switch cfg.Auth {
	case AuthBasic:
		oc.Username, oc.Password = cfg.Username, cfg.Password
		tr.password, tr.basic = cfg.Password, basicToken(cfg.Username, cfg.Password)
	case AuthSigV4:
		src := cfg.Credentials
		if src == nil {
			ac, err := config.LoadDefaultConfig(ctx, config.WithRegion(cfg.Region))
			if err != nil {
				return nil, fmt.Errorf("opensearch sigv4: load AWS config: %w", err)
			}
			if ac.Credentials == nil {
				return nil, fmt.Errorf("opensearch sigv4: no AWS credentials in the default chain")
			}
			src = ac.Credentials
		}
		tr.creds = newCreds(src, cfg.Logger)
		s, err := awsv2.NewSignerWithService(aws.Config{Region: cfg.Region, Credentials: tr.creds}, cfg.SigV4Service)
		if err != nil {
			return nil, fmt.Errorf("opensearch sigv4: %w", err)
		}
		tr.signer = s
	}
	c, err := opensearch.NewClient(oc)
	if err != nil {
		return nil, fmt.Errorf("opensearch client: %w", err)
	}
	return &Client{cfg: cfg, os: c, tr: tr}, nil
}

// OpenSearch returns the client every call goes through.
func (c *Client) OpenSearch() *opensearch.Client { return c.os }

// Config returns the resolved config.
func (c *Client) Config() Config { return c.cfg }

// Summary describes the connection (no secrets) for a start-up log line.
func (c *Client) Summary() string { return c.cfg.Summary() }

// Compressing reports whether request bodies are gzipped now (false after
// a fallback).
func (c *Client) Compressing() bool { return c.tr.Compressing() }

// Scrub removes this client's secrets (password, AWS secret key and
// session token) from s.
func (c *Client) Scrub(s string) string { return c.tr.scrub(s, nil) }

// AuthHint says what to check when the cluster refuses the credentials.
func (c *Client) AuthHint() string {
	switch c.cfg.Auth {
	case AuthSigV4:
		return "check the AWS credentials (the SDK default chain), that their IAM policy allows es:ESHttp* on the domain (aoss:APIAccessAll for Serverless) and that the role is mapped to an OpenSearch role (fine-grained access control) or named in the data access policy"
	case AuthBasic:
		return "check --opensearch-user/--opensearch-password and the user's role mapping"
	default:
		return "the cluster needs authentication: set --opensearch-user/--opensearch-password (basic) or --opensearch-auth sigv4"
	}
}

func tlsConfig(cfg Config) (*tls.Config, error) {
	t := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("--opensearch-ca: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--opensearch-ca %s: no PEM certificate in the file", cfg.CAFile)
		}
		t.RootCAs = pool
	}
	if cfg.Insecure {
		t.InsecureSkipVerify = true // #nosec G402 -- asked for explicitly, warned at start
	}
	return t, nil
}
