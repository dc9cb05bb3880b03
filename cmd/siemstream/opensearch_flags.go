package main

import (
	"context"
	"strings"

	"github.com/rs/zerolog"

	"github.com/siemstream/siemstream/internal/osclient"
)

// openSearchFlagValues are the connection flags every command that talks to
// OpenSearch shares (consumer, replay, templates). They are defined here
// once; see internal/osclient for what they do.
type openSearchFlagValues struct {
	url, user, password *string
	auth, service, ca   *string
	compress            *autoBool
	insecure            *bool
	fs                  *flags
}

// openSearchFlags registers the OpenSearch connection flags. It uses the
// command's --region (defining it when the command has none yet) as the
// SigV4 region when the endpoint host names none.
func openSearchFlags(f *flags) *openSearchFlagValues {
	d := osclient.DefaultConfig()
	v := &openSearchFlagValues{
		url:      f.strRedacted("opensearch-url", "OPENSEARCH_URL", strings.Join(d.URLs, ","), "OpenSearch `URL`(s), comma-separated", osclient.RedactURL),
		user:     f.str("opensearch-user", "OPENSEARCH_USER", "", "OpenSearch basic-auth user"),
		password: f.secret("opensearch-password", "OPENSEARCH_PASSWORD", "OpenSearch basic-auth `password` (never printed)"),
		auth:     f.str("opensearch-auth", "SIEM_OPENSEARCH_AUTH", "", "none, basic or sigv4 (default: sigv4 for *.es.amazonaws.com / *.aoss.amazonaws.com endpoints, basic when a user is set, else none)"),
		service:  f.str("opensearch-sigv4-service", "SIEM_OPENSEARCH_SIGV4_SERVICE", "", "SigV4 signing service: es (domains) or aoss (Serverless) (default: aoss for *.aoss.amazonaws.com, else es)"),
		compress: f.optBool("opensearch-compress", "SIEM_OPENSEARCH_COMPRESS", "gzip request bodies: true, false or auto (auto: on unless every URL is a loopback address); a cluster refusing signed gzip bodies turns it off"),
		ca:       f.str("opensearch-ca", "SIEM_OPENSEARCH_CA", "", "PEM file of a private CA to trust besides the system roots"),
		insecure: f.boolean("opensearch-insecure", "SIEM_OPENSEARCH_INSECURE", false, "do not verify the cluster's TLS certificate (warned at every start; use --opensearch-ca instead)"),
	}
	v.fs = f
	if f.Lookup("region") == nil {
		f.str("region", "AWS_REGION", "us-east-1", "AWS region (SigV4, when the endpoint host names none)")
	}
	return v
}

// Config returns the connection config of the parsed flags.
func (v *openSearchFlagValues) Config(log zerolog.Logger) osclient.Config {
	c := osclient.DefaultConfig()
	c.URLs = strings.Split(*v.url, ",")
	c.Username, c.Password = *v.user, *v.password
	c.Auth, c.SigV4Service = strings.ToLower(strings.TrimSpace(*v.auth)), strings.ToLower(strings.TrimSpace(*v.service))
	c.Compress = v.compress.Value()
	c.CAFile, c.Insecure = *v.ca, *v.insecure
	c.FallbackRegion = v.fs.Lookup("region").Value.String()
	c.Logger = log.With().Str("component", "opensearch").Logger()
	return c
}

// Client builds the OpenSearch client of the parsed flags and logs how it
// connects (no secrets).
func (v *openSearchFlagValues) Client(ctx context.Context, log zerolog.Logger) (*osclient.Client, error) {
	c, err := osclient.New(ctx, v.Config(log))
	if err != nil {
		return nil, err
	}
	log.Info().Str("opensearch", c.Summary()).Msg("OpenSearch connection")
	return c, nil
}
