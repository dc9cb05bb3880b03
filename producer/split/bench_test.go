package split

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/siemstream/siemstream/internal/testobj"
)

// Benchmarks report MB/s of decompressed content (b.SetBytes).

func vpcObject(n int) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	var b bytes.Buffer
	b.WriteString(vpcHeader + "\n")
	for i := range n {
		fmt.Fprintf(&b, "2 123456789012 eni-%017x 10.%d.%d.%d 172.31.%d.%d %d %d 6 %d %d 1700000%03d 1700000%03d %s OK\n",
			rng.Uint64()%0xfff, rng.IntN(4), rng.IntN(256), rng.IntN(256), rng.IntN(256), rng.IntN(256), 1024+rng.IntN(60000),
			[]int{443, 80, 22, 53}[rng.IntN(4)], 1+rng.IntN(100), 40+rng.IntN(100000), i%1000, (i+60)%1000, []string{"ACCEPT", "REJECT"}[rng.IntN(2)])
	}
	return b.Bytes()
}

func cloudTrailObject(n int) []byte {
	rng := rand.New(rand.NewPCG(3, 4))
	var b bytes.Buffer
	b.WriteString(`{"Records":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROA%012d:session","arn":"arn:aws:sts::123456789012:assumed-role/r/s","accountId":"123456789012","sessionContext":{"attributes":{"creationDate":"2025-01-01T00:00:00Z","mfaAuthenticated":"false"}}},"eventTime":"2025-01-01T00:%02d:%02dZ","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","sourceIPAddress":"10.0.%d.%d","userAgent":"[aws-sdk-go/1.44 (go1.20; linux; amd64)]","requestParameters":{"bucketName":"b","key":"k/%d \"quoted\" \\ path"},"responseElements":null,"eventID":"%016x-%08x","readOnly":true,"eventType":"AwsApiCall"}`,
			rng.IntN(1e12), i/60%60, i%60, rng.IntN(256), rng.IntN(256), i, rng.Uint64(), rng.Uint32())
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

func benchSplit(b *testing.B, obj []byte, rawLen int, f Format, wantRecs int) {
	b.SetBytes(int64(rawLen))
	b.ReportAllocs()
	for b.Loop() {
		rc, _, err := Open(bytes.NewReader(obj))
		if err != nil {
			b.Fatal(err)
		}
		s, err := New(rc, f, Options{})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			_, _, err := s.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		rc.Close()
		if n != wantRecs {
			b.Fatalf("%d records, want %d", n, wantRecs)
		}
	}
	b.ReportMetric(float64(rawLen)/float64(wantRecs), "B/record")
}

func BenchmarkSplitVPCFlowGzip(b *testing.B) {
	raw := vpcObject(100000)
	benchSplit(b, testobj.Gzip(raw), len(raw), Format{Kind: KindCSV}, 100000)
}

func BenchmarkSplitVPCFlowPlain(b *testing.B) {
	raw := vpcObject(100000)
	benchSplit(b, raw, len(raw), Format{Kind: KindCSV}, 100000)
}

func BenchmarkSplitCloudTrailGzip(b *testing.B) {
	raw := cloudTrailObject(20000)
	benchSplit(b, testobj.Gzip(raw), len(raw), Format{Kind: KindJSON, JSONDelimiter: "Records"}, 20000)
}

func BenchmarkSplitCloudTrailPlain(b *testing.B) {
	raw := cloudTrailObject(20000)
	benchSplit(b, raw, len(raw), Format{Kind: KindJSON, JSONDelimiter: "Records"}, 20000)
}

func BenchmarkSplitNDJSONPlain(b *testing.B) {
	raw := cloudTrailObject(20000)
	raw = bytes.TrimPrefix(raw, []byte(`{"Records":[`))
	raw = bytes.TrimSuffix(raw, []byte(`]}`))
	raw = bytes.ReplaceAll(raw, []byte(`"eventType":"AwsApiCall"},{`), []byte("\"eventType\":\"AwsApiCall\"}\n{"))
	benchSplit(b, raw, len(raw), Format{Kind: KindJSON}, 20000)
}
