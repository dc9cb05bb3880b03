// Package s3src is the S3 implementation of reload.Store: a bucket and key
// prefix read with ListObjectsV2, HeadObject and GetObject. Versions come from
// ETag and LastModified, so polling costs one HEAD or LIST per interval.
package s3src

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/siemstream/siemstream/internal/reload"
)

// API is the part of *s3.Client the store uses.
type API interface {
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, optFns ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// Store reads objects under s3://Bucket/Prefix.
type Store struct {
	client API
	bucket string
	prefix string // "" or ends with '/'
}

// New makes a store; prefix is the key prefix that keys are relative to.
func New(client API, bucket, prefix string) *Store {
	return &Store{client: client, bucket: bucket, prefix: prefix}
}

// Opener adapts a client to reload.S3Opener for the stages' Deps.
func Opener(client API) reload.S3Opener {
	return func(bucket, prefix string) reload.Store { return New(client, bucket, prefix) }
}

func (s *Store) String() string { return "s3://" + s.bucket + "/" + s.prefix }

// List implements reload.Store.
func (s *Store) List(ctx context.Context, prefix string) ([]reload.ObjectInfo, error) {
	var out []reload.ObjectInfo
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{
		Bucket: aws.String(s.bucket), Prefix: aws.String(s.prefix + prefix),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list s3://%s/%s%s: %w", s.bucket, s.prefix, prefix, err)
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			if strings.HasSuffix(key, "/") {
				continue // directory marker
			}
			out = append(out, reload.ObjectInfo{
				Key:     strings.TrimPrefix(key, s.prefix),
				Size:    aws.ToInt64(o.Size),
				ModTime: aws.ToTime(o.LastModified),
				ETag:    aws.ToString(o.ETag),
			})
		}
	}
	slices.SortFunc(out, func(a, b reload.ObjectInfo) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// Stat implements reload.Store.
func (s *Store) Stat(ctx context.Context, key string) (reload.ObjectInfo, error) {
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.prefix + key)})
	if err != nil {
		return reload.ObjectInfo{}, s.wrap("head", key, err)
	}
	return reload.ObjectInfo{Key: key, Size: aws.ToInt64(out.ContentLength),
		ModTime: aws.ToTime(out.LastModified), ETag: aws.ToString(out.ETag)}, nil
}

// ReadAll implements reload.Store.
func (s *Store) ReadAll(ctx context.Context, key string, limit int64) ([]byte, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.prefix + key)})
	if err != nil {
		return nil, s.wrap("get", key, err)
	}
	defer out.Body.Close()
	if limit > 0 && aws.ToInt64(out.ContentLength) > limit {
		return nil, fmt.Errorf("get s3://%s/%s%s: %d bytes is larger than %d", s.bucket, s.prefix, key, aws.ToInt64(out.ContentLength), limit)
	}
	return reload.ReadLimited(out.Body, limit, "s3://"+s.bucket+"/"+s.prefix+key)
}

func (s *Store) wrap(op, key string, err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSuchKey", "NotFound":
			return fmt.Errorf("%s s3://%s/%s%s: %w (%w)", op, s.bucket, s.prefix, key, reload.ErrNotExist, err)
		}
	}
	return fmt.Errorf("%s s3://%s/%s%s: %w", op, s.bucket, s.prefix, key, err)
}
