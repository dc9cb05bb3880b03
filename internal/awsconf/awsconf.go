// Package awsconf loads the AWS SDK configuration the way every siemstream
// command needs it: the default credential chain and region, endpoints from
// the standard AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE> variables (so
// `. .local/env` points everything at the local stack), and path-style S3
// addressing whenever a custom endpoint is in use.
//
// Every client built from the config gets an HTTP transport whose
// ResponseHeaderTimeout is ResponseHeaderTimeout: the backstop against a
// server that accepts a request and never answers it.
package awsconf

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// ResponseHeaderTimeout bounds the wait for a response's headers once the
// request is written, for every AWS call. The SDK's default client has no
// such bound (its opt-in read timeout is off by default), so a half-open
// connection after a NAT or load-balancer drop would hold a call, and
// whatever waits on it, for good. The callers bound their own calls more
// tightly (Kinesis GetRecords 30s, PutRecords 60s, lease writes); this
// catches every other call. It must stay above the longest legitimate wait
// for headers: the 20s SQS long poll (ReceiveMessage answers when its wait
// ends). Streamed bodies (S3 GetObject) are not affected: the headers
// arrive first, the body's read time is not bounded here. A call cut by it
// fails with a timeout error the SDK retries like a dropped connection.
const ResponseHeaderTimeout = 60 * time.Second

// Load returns the SDK config; region "" means the environment's.
func Load(ctx context.Context, region string) (aws.Config, error) {
	return load(ctx, region, ResponseHeaderTimeout)
}

// HTTPClient is the SDK's default buildable client with its transport's
// ResponseHeaderTimeout set to headerTimeout. It stays a BuildableClient so
// the SDK can still apply AWS_CA_BUNDLE and per-service options to it.
func HTTPClient(headerTimeout time.Duration) *awshttp.BuildableClient {
	return awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.ResponseHeaderTimeout = headerTimeout
	})
}

func load(ctx context.Context, region string, headerTimeout time.Duration) (aws.Config, error) {
	opts := []func(*config.LoadOptions) error{config.WithHTTPClient(HTTPClient(headerTimeout))}
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
