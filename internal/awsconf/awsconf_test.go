package awsconf_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/siemstream/siemstream/internal/awsconf"
	"github.com/siemstream/siemstream/internal/e2e"
)

// TestLoadResponseHeaderTimeout: every client built from Load's config has
// the backstop, and it stays above the 20s SQS long poll (the longest
// legitimate wait for headers).
func TestLoadResponseHeaderTimeout(t *testing.T) {
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	cfg, err := awsconf.Load(t.Context(), "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	b, ok := cfg.HTTPClient.(*awshttp.BuildableClient)
	if !ok {
		t.Fatalf("HTTP client %T, want *awshttp.BuildableClient (AWS_CA_BUNDLE and per-service options need it)", cfg.HTTPClient)
	}
	if got := b.GetTransport().ResponseHeaderTimeout; got != awsconf.ResponseHeaderTimeout {
		t.Errorf("ResponseHeaderTimeout %s, want %s", got, awsconf.ResponseHeaderTimeout)
	}
	if awsconf.ResponseHeaderTimeout <= 20*time.Second {
		t.Errorf("ResponseHeaderTimeout %s would cut the 20s SQS long poll", awsconf.ResponseHeaderTimeout)
	}
	if cfg.Region != "eu-west-1" {
		t.Errorf("region %q", cfg.Region)
	}
}

// TestResponseHeaderTimeoutStall: a call the server accepts and never
// answers is cut by the transport's ResponseHeaderTimeout although the
// caller set no deadline, and the SDK's retry then gets the real answer
// (kinesalite behind a stall proxy that holds the first call).
func TestResponseHeaderTimeoutStall(t *testing.T) {
	s := e2e.AWSOrSkip(t)
	upstream := awsconf.Endpoint("KINESIS")
	if upstream == "" {
		t.Skip("no local Kinesis endpoint")
	}
	stream := e2e.NewName("awsconf-stall")
	e2e.TestStream(t, s.Kinesis, stream, 1)
	p, err := e2e.NewStallProxy(upstream, "Kinesis_20131202.ListShards", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	cfg := s.AWS.Copy()
	cfg.HTTPClient = awsconf.HTTPClient(500 * time.Millisecond)
	kin := kinesis.NewFromConfig(cfg, func(o *kinesis.Options) { o.BaseEndpoint = aws.String(p.URL()) })
	// The test's own bound only; the call itself has no deadline.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	start := time.Now()
	o, err := kin.ListShards(ctx, &kinesis.ListShardsInput{StreamName: &stream})
	if err != nil {
		t.Fatalf("ListShards after %s: %v", time.Since(start), err)
	}
	if len(o.Shards) != 1 || p.Stalled() != 1 || p.Matched() != 2 {
		t.Errorf("%d shards, %d calls held, %d seen; want 1, 1, 2 (one held, one retried)", len(o.Shards), p.Stalled(), p.Matched())
	}
}
