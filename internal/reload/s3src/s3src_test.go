package s3src

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/siemstream/siemstream/internal/reload"
)

type obj struct {
	data []byte
	etag string
	mod  time.Time
}

type fakeS3 struct{ objs map[string]obj }

func (f *fakeS3) ListObjectsV2(_ context.Context, in *s3.ListObjectsV2Input, _ ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	out := &s3.ListObjectsV2Output{}
	for k, o := range f.objs {
		if len(k) >= len(*in.Prefix) && k[:len(*in.Prefix)] == *in.Prefix {
			out.Contents = append(out.Contents, types.Object{Key: aws.String(k), Size: aws.Int64(int64(len(o.data))), ETag: aws.String(o.etag), LastModified: aws.Time(o.mod)})
		}
	}
	return out, nil
}

func notFound() error { return &smithy.GenericAPIError{Code: "NotFound", Message: "not found"} }

func (f *fakeS3) HeadObject(_ context.Context, in *s3.HeadObjectInput, _ ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	o, ok := f.objs[*in.Key]
	if !ok {
		return nil, notFound()
	}
	return &s3.HeadObjectOutput{ContentLength: aws.Int64(int64(len(o.data))), ETag: aws.String(o.etag), LastModified: aws.Time(o.mod)}, nil
}

func (f *fakeS3) GetObject(_ context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	o, ok := f.objs[*in.Key]
	if !ok {
		return nil, &smithy.GenericAPIError{Code: "NoSuchKey"}
	}
	return &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(o.data)), ContentLength: aws.Int64(int64(len(o.data)))}, nil
}

func TestStore(t *testing.T) {
	now := time.Now()
	f := &fakeS3{objs: map[string]obj{
		"geo/GeoLite2/GeoLite2-City.mmdb": {data: []byte("city"), etag: `"e1"`, mod: now},
		"geo/IOC/TXT/p/a.txt":             {data: []byte("1.2.3.4\n"), etag: `"e2"`, mod: now},
		"geo/IOC/TXT/":                    {etag: `"d"`, mod: now}, // directory marker
		"other/x":                         {data: []byte("x")},
	}}
	st, err := reload.OpenDir("s3://bkt/geo", Opener(f))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	l, err := st.List(ctx, "IOC/TXT/")
	if err != nil || len(l) != 1 || l[0].Key != "IOC/TXT/p/a.txt" || l[0].ETag != `"e2"` {
		t.Fatalf("list %+v %v", l, err)
	}
	info, err := st.Stat(ctx, "GeoLite2/GeoLite2-City.mmdb")
	if err != nil || info.Size != 4 || info.ETag != `"e1"` {
		t.Fatalf("stat %+v %v", info, err)
	}
	if _, err := st.Stat(ctx, "GeoLite2/GeoLite2-ASN.mmdb"); !errors.Is(err, reload.ErrNotExist) {
		t.Fatalf("missing: %v", err)
	}
	if _, err := st.ReadAll(ctx, "nope", 0); !errors.Is(err, reload.ErrNotExist) {
		t.Fatalf("missing get: %v", err)
	}
	b, err := st.ReadAll(ctx, "IOC/TXT/p/a.txt", 100)
	if err != nil || string(b) != "1.2.3.4\n" {
		t.Fatalf("get %q %v", b, err)
	}
	if _, err := st.ReadAll(ctx, "IOC/TXT/p/a.txt", 3); err == nil {
		t.Fatal("limit")
	}
	if st.String() != "s3://bkt/geo/" {
		t.Fatal(st.String())
	}
}
