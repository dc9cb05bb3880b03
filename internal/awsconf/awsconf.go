// Package awsconf loads the AWS SDK configuration the way every siemstream
// command needs it: the default credential chain and region, endpoints from
// the standard AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE> variables (so
// `. .local/env` points everything at the local stack), and path-style S3
// addressing whenever a custom endpoint is in use.
package awsconf

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Load returns the SDK config; region "" means the environment's.
func Load(ctx context.Context, region string) (aws.Config, error) {
	var opts []func(*config.LoadOptions) error
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS config: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	return cfg, nil
}

// Endpoint returns the custom endpoint for a service (its
// AWS_ENDPOINT_URL_<SERVICE> variable, else AWS_ENDPOINT_URL), or "".
func Endpoint(service string) string {
	if v := os.Getenv("AWS_ENDPOINT_URL_" + service); v != "" {
		return v
	}
	return os.Getenv("AWS_ENDPOINT_URL")
}

// S3Options sets path-style addressing when S3 has a custom endpoint
// (emulators and most S3-compatible stores need it).
func S3Options(o *s3.Options) {
	if Endpoint("S3") != "" {
		o.UsePathStyle = true
	}
	// Objects written without a checksum (most log deliveries, every
	// S3-compatible store) would make the SDK print one unstructured
	// "Response has no supported checksum" line per GetObject to stderr.
	o.DisableLogOutputChecksumValidationSkipped = true
}
