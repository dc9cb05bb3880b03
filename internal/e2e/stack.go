// Package e2e drives the real local stack (moto, kinesalite, OpenSearch,
// started by `go tool task up`) for integration and fault tests, the demo and
// the end-to-end benchmark. It builds nothing fake: it creates real buckets,
// queues, streams and lease tables, runs the real siemstream binary as
// separate processes and reads results back from OpenSearch.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/siemstream/siemstream/internal/awsconf"
	"github.com/siemstream/siemstream/internal/backoff"
)

// RepoRoot finds the module root from the working directory.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}

// LoadEnv reads .local/env (export lines written by `task up`) into the
// process environment, without overriding variables already set. It
// returns false when the file does not exist (stack not started).
func LoadEnv(root string) (bool, error) {
	f, err := os.Open(filepath.Join(root, ".local", "env"))
	if os.IsNotExist(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(k, "#") {
			continue
		}
		v = strings.Trim(v, `"'`)
		if _, set := os.LookupEnv(k); !set {
			os.Setenv(k, v)
		}
	}
	if err := sc.Err(); err != nil {
		return true, err
	}
	selectOpenSearch()
	return true, nil
}

// Environment variables that point the tests, and every process they
// start, at another OpenSearch node than the default one (OPENSEARCH_URL):
// SIEM_TEST_OPENSEARCH_URL names a URL; SIEM_TEST_OPENSEARCH names a
// profile of the local stack (`go tool task up -- --opensearch 3`), whose
// URL `up` writes to .local/env. A profile that is not running leaves its
// default URL, where nothing answers, so the tests skip saying so.
//
// RequireTargetEnv (set by the Taskfile's profile tasks) turns "not
// running, skipped" into a failure, so that a profile that did not come up
// cannot pass as skipped tests.
const (
	TargetURLEnv     = "SIEM_TEST_OPENSEARCH_URL"
	TargetProfileEnv = "SIEM_TEST_OPENSEARCH"
	RequireTargetEnv = "SIEM_TEST_REQUIRE_OPENSEARCH"
)

func selectOpenSearch() {
	target := os.Getenv(TargetURLEnv)
	switch p := os.Getenv(TargetProfileEnv); {
	case target != "":
	case p == "3":
		target = os.Getenv("SIEM_OS3_URL")
		if target == "" {
			target = "http://127.0.0.1:9202"
		}
	}
	if target != "" {
		os.Setenv("OPENSEARCH_URL", target)
	}
}

// Stack holds clients for the local stack.
type Stack struct {
	S3         *s3.Client
	SQS        *sqs.Client
	Kinesis    *kinesis.Client
	DynamoDB   *dynamodb.Client
	OpenSearch string
	HTTP       *http.Client
	// User and Password, when set, are sent as basic auth to OpenSearch
	// (the security profile; see WithOpenSearch).
	User, Password string
	// AWS is the configuration the clients were built from (for a client
	// of another endpoint, e.g. kinesis-mock).
	AWS aws.Config

	// created lists the streams CreateResources made (shared by the copies
	// WithOpenSearch returns), so DeleteCreated can remove them: the local
	// Kinesis is one long-lived emulator for the whole suite.
	created *createdStreams
}

type createdStreams struct {
	mu    sync.Mutex
	names []string
}

// DeleteCreated deletes every stream this Stack's CreateResources made
// (errors ignored: a test may have deleted its stream itself).
func (s *Stack) DeleteCreated(ctx context.Context) {
	if s.created == nil {
		return
	}
	s.created.mu.Lock()
	names := s.created.names
	s.created.names = nil
	s.created.mu.Unlock()
	for _, n := range names {
		_, _ = s.Kinesis.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String(n), EnforceConsumerDeletion: aws.Bool(true)})
	}
}

// WithOpenSearch returns a copy of s that talks to another OpenSearch node:
// url, basic auth (when user is set) and a private CA (PEM file, when set).
func (s *Stack) WithOpenSearch(url, user, password, caFile string) (*Stack, error) {
	c := *s
	c.OpenSearch, c.User, c.Password = strings.TrimRight(url, "/"), user, password
	c.HTTP = &http.Client{Timeout: 30 * time.Second}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s: no PEM certificate", caFile)
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		c.HTTP.Transport = tr
	}
	return &c, nil
}

// Connect builds clients from the environment (see LoadEnv).
func Connect(ctx context.Context) (*Stack, error) {
	cfg, err := awsconf.Load(ctx, os.Getenv("AWS_REGION"))
	if err != nil {
		return nil, err
	}
	os := os.Getenv("OPENSEARCH_URL")
	if os == "" {
		os = "http://127.0.0.1:9200"
	}
	return &Stack{
		created: &createdStreams{}, AWS: cfg,
		S3: s3.NewFromConfig(cfg, awsconf.S3Options), SQS: sqs.NewFromConfig(cfg),
		Kinesis: kinesis.NewFromConfig(cfg), DynamoDB: dynamodb.NewFromConfig(cfg),
		OpenSearch: strings.TrimRight(os, "/"), HTTP: &http.Client{Timeout: 30 * time.Second},
	}, nil
}

// Resources is one isolated pipeline: its own bucket, queue (with DLQ and
// S3 notification), stream and KCL application name.
type Resources struct {
	Bucket, QueueURL, DLQURL, Stream, App string
}

// Env returns the environment for siemstream processes using r.
func (r Resources) Env() []string {
	return append(os.Environ(),
		"SIEM_LOG_BUCKET="+r.Bucket, "SIEM_QUEUE_URL="+r.QueueURL, "SIEM_STREAM="+r.Stream, "SIEM_APP_NAME="+r.App,
		"SIEM_LOG_FORMAT=json", "SIEM_WAIT_TIME=1s", "SIEM_PROGRESS=2s")
}

// CreateResources makes a fresh isolated pipeline named after name.
func (s *Stack) CreateResources(ctx context.Context, name string, shards int) (Resources, error) {
	r := Resources{Bucket: name, Stream: name, App: name}
	if _, err := s.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &r.Bucket}); err != nil {
		return r, fmt.Errorf("create bucket %s: %w", name, err)
	}
	dlq, err := s.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name + "-dlq")})
	if err != nil {
		return r, fmt.Errorf("create dlq: %w", err)
	}
	r.DLQURL = aws.ToString(dlq.QueueUrl)
	dlqAttr, err := s.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: dlq.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		return r, fmt.Errorf("dlq arn: %w", err)
	}
	redrive, _ := json.Marshal(map[string]string{"deadLetterTargetArn": dlqAttr.Attributes["QueueArn"], "maxReceiveCount": "5"})
	q, err := s.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: map[string]string{
		"VisibilityTimeout": "60", "RedrivePolicy": string(redrive)}})
	if err != nil {
		return r, fmt.Errorf("create queue: %w", err)
	}
	r.QueueURL = aws.ToString(q.QueueUrl)
	qa, err := s.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		return r, fmt.Errorf("queue arn: %w", err)
	}
	_, err = s.S3.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{
		Bucket: &r.Bucket,
		NotificationConfiguration: &s3types.NotificationConfiguration{QueueConfigurations: []s3types.QueueConfiguration{{
			QueueArn: aws.String(qa.Attributes["QueueArn"]), Events: []s3types.Event{"s3:ObjectCreated:*"},
		}}},
	})
	if err != nil {
		return r, fmt.Errorf("bucket notification: %w", err)
	}
	if _, err := s.Kinesis.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: &r.Stream, ShardCount: aws.Int32(int32(shards))}); err != nil {
		return r, fmt.Errorf("create stream: %w", err)
	}
	if s.created != nil {
		s.created.mu.Lock()
		s.created.names = append(s.created.names, r.Stream)
		s.created.mu.Unlock()
	}
	err = WaitFor(ctx, 30*time.Second, func() (bool, error) {
		d, err := s.Kinesis.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: &r.Stream})
		if err != nil {
			return false, nil
		}
		return d.StreamDescriptionSummary.StreamStatus == ktypes.StreamStatusActive, nil
	})
	return r, err
}

// Upload puts an object.
func (s *Stack) Upload(ctx context.Context, bucket, key string, body []byte) error {
	_, err := s.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader(body)})
	if err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", bucket, key, err)
	}
	return nil
}

// WaitFor polls cond until it is true, it errors, or timeout passes. Polling
// starts fast and backs off to 500ms, so tests wait on conditions, not sleeps.
func WaitFor(ctx context.Context, timeout time.Duration, cond func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	wait := 20 * time.Millisecond
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if !backoff.Sleep(ctx, wait) {
			return fmt.Errorf("condition not met within %s", timeout)
		}
		wait = min(wait*2, 500*time.Millisecond)
	}
}

// Search runs a query against index (pattern) and returns the raw response.
func (s *Stack) Search(ctx context.Context, index string, body any) ([]byte, error) {
	return s.do(ctx, http.MethodPost, "/"+index+"/_search", body)
}

// Refresh makes recent writes searchable.
func (s *Stack) Refresh(ctx context.Context, index string) error {
	_, err := s.do(ctx, http.MethodPost, "/"+index+"/_refresh?ignore_unavailable=true&allow_no_indices=true", nil)
	return err
}

// Count returns how many documents match query in index (after a refresh).
func (s *Stack) Count(ctx context.Context, index string, query any) (int64, error) {
	if err := s.Refresh(ctx, index); err != nil {
		return 0, err
	}
	b, err := s.do(ctx, http.MethodPost, "/"+index+"/_count?ignore_unavailable=true&allow_no_indices=true", map[string]any{"query": query})
	if err != nil {
		return 0, err
	}
	var r struct {
		Count int64 `json:"count"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return 0, fmt.Errorf("count response %s: %w", b, err)
	}
	return r.Count, nil
}

// Do sends a request to OpenSearch and returns the body; non-2xx is an error.
func (s *Stack) Do(ctx context.Context, method, path string, body any) ([]byte, error) {
	return s.do(ctx, method, path, body)
}

func (s *Stack) do(ctx context.Context, method, path string, body any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.OpenSearch+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if s.User != "" {
		req.SetBasicAuth(s.User, s.Password)
	}
	resp, err := s.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		return out, fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, out)
	}
	return out, nil
}

// BucketQuery is an OpenSearch query for the documents loaded from one S3
// bucket; it works whether @log_s3bucket is mapped as keyword or text.
func BucketQuery(bucket string) map[string]any {
	return map[string]any{"match_phrase": map[string]any{"@log_s3bucket": bucket}}
}

// Hit is one document of a search result.
type Hit struct {
	Index   string         `json:"_index"`
	ID      string         `json:"_id"`
	Version int64          `json:"_version"`
	Source  map[string]any `json:"_source"`
}

// ScanDocs visits every document matching query with the scroll API.
func (s *Stack) ScanDocs(ctx context.Context, index string, query any, visit func(Hit)) error {
	if err := s.Refresh(ctx, index); err != nil {
		return err
	}
	b, err := s.do(ctx, http.MethodPost, "/"+index+"/_search?scroll=2m&ignore_unavailable=true&allow_no_indices=true",
		map[string]any{"size": 5000, "query": query, "sort": []string{"_doc"}, "version": true})
	for {
		if err != nil {
			return err
		}
		var resp struct {
			ScrollID string `json:"_scroll_id"`
			Hits     struct {
				Hits []Hit `json:"hits"`
			} `json:"hits"`
		}
		if err := json.Unmarshal(b, &resp); err != nil {
			return fmt.Errorf("scroll response: %w", err)
		}
		if len(resp.Hits.Hits) == 0 {
			if resp.ScrollID != "" {
				_, _ = s.do(ctx, http.MethodDelete, "/_search/scroll", map[string]any{"scroll_id": resp.ScrollID})
			}
			return nil
		}
		for _, h := range resp.Hits.Hits {
			visit(h)
		}
		b, err = s.do(ctx, http.MethodPost, "/_search/scroll", map[string]any{"scroll": "2m", "scroll_id": resp.ScrollID})
	}
}
