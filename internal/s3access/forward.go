package s3access

// The S3 calls a Router forwards to the client of the object's bucket. They
// are the caller's calls (the producer's GetObject, backfill's listing, …):
// the deployment's action-coverage test reads them at the caller, not here.

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// GetObject routes on in.Bucket.
func (r *Router) GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	b := aws.ToString(in.Bucket)
	c, role, err := r.client(ctx, b)
	if err != nil {
		return nil, err
	}
	out, err := c.GetObject(ctx, in, opts...)
	return out, wrap(err, b, role)
}

// PutObject routes on in.Bucket.
func (r *Router) PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	b := aws.ToString(in.Bucket)
	c, role, err := r.client(ctx, b)
	if err != nil {
		return nil, err
	}
	out, err := c.PutObject(ctx, in, opts...)
	return out, wrap(err, b, role)
}

// HeadObject routes on in.Bucket.
func (r *Router) HeadObject(ctx context.Context, in *s3.HeadObjectInput, opts ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	b := aws.ToString(in.Bucket)
	c, role, err := r.client(ctx, b)
	if err != nil {
		return nil, err
	}
	out, err := c.HeadObject(ctx, in, opts...)
	return out, wrap(err, b, role)
}

// ListObjectsV2 routes on in.Bucket.
func (r *Router) ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, opts ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	b := aws.ToString(in.Bucket)
	c, role, err := r.client(ctx, b)
	if err != nil {
		return nil, err
	}
	out, err := c.ListObjectsV2(ctx, in, opts...)
	return out, wrap(err, b, role)
}

// DeleteObject routes on in.Bucket.
func (r *Router) DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, opts ...func(*s3.Options)) (*s3.DeleteObjectOutput, error) {
	b := aws.ToString(in.Bucket)
	c, role, err := r.client(ctx, b)
	if err != nil {
		return nil, err
	}
	out, err := c.DeleteObject(ctx, in, opts...)
	return out, wrap(err, b, role)
}
