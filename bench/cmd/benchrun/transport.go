package main

// Part "transport": what SigV4 signing and gzip request compression cost per
// event, and what gzip saves on the wire, on a realistic _bulk body: VPC
// Flow Log documents as the consumer writes them (normalized by the real
// `siemstream normalize`), packed into one sink-sized (5 MiB) request.
//
// Each operation is measured with testing.Benchmark exactly as
// internal/osclient's transport does it: gzip with klauspost/compress at
// osclient.GzipLevel (the stdlib's default level beside it, for the choice),
// and opensearch-go's signer/awsv2 SignRequest (SHA-256 of the body + HMAC
// chain) on the uncompressed and on the compressed body.

import (
	"bufio"
	"bytes"
	stdgzip "compress/gzip"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/klauspost/compress/gzip"
	"github.com/opensearch-project/opensearch-go/v4/signer/awsv2"
	"github.com/tidwall/gjson"

	"github.com/siemstream/siemstream/bench/fixture"
	"github.com/siemstream/siemstream/internal/osclient"
)

func (r *runner) transport(ctx context.Context) error {
	body, events, err := r.vpcBulk(ctx, fixture.MaxBulkBytes)
	if err != nil {
		return err
	}
	ev := float64(events)
	// The best of a few runs: the one least disturbed by other load (the
	// raw file keeps every run).
	runs := max(3, r.o.count)
	best := func(f func(b *testing.B)) testing.BenchmarkResult {
		var b testing.BenchmarkResult
		for i := range runs {
			res := testing.Benchmark(f)
			if i == 0 || res.NsPerOp() < b.NsPerOp() {
				b = res
			}
		}
		return b
	}
	perEvent := func(res testing.BenchmarkResult) float64 { return float64(res.NsPerOp()) / ev }

	var zb bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&zb, osclient.GzipLevel)
	_, _ = zw.Write(body)
	_ = zw.Close()
	zipped := zb.Bytes()
	gzipRes := best(func(b *testing.B) {
		var out bytes.Buffer
		out.Grow(len(zipped) * 2)
		w, _ := gzip.NewWriterLevel(&out, osclient.GzipLevel)
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			out.Reset()
			w.Reset(&out)
			_, _ = w.Write(body)
			_ = w.Close()
		}
	})
	var stdOut bytes.Buffer
	stdRes := best(func(b *testing.B) {
		w := stdgzip.NewWriter(&stdOut)
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			stdOut.Reset()
			w.Reset(&stdOut)
			_, _ = w.Write(body)
			_ = w.Close()
		}
	})
	signer, err := awsv2.NewSignerWithService(aws.Config{Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDBENCH", "bench-secret", "bench-token")}, "es")
	if err != nil {
		return err
	}
	sign := func(payload []byte, enc string) testing.BenchmarkResult {
		return best(func(b *testing.B) {
			b.SetBytes(int64(len(payload)))
			b.ReportAllocs()
			for b.Loop() {
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "https://search-siem.us-east-1.es.amazonaws.com/_bulk?filter_path=errors,items.*.status", bytes.NewReader(payload))
				req.Header.Set("Content-Type", "application/x-ndjson")
				if enc != "" {
					req.Header.Set("Content-Encoding", enc)
				}
				if err := signer.SignRequest(req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	signPlain, signGz := sign(body, ""), sign(zipped, "gzip")

	name := "BenchmarkTransport/type=vpcflowlogs"
	r.res.add(name+"/op=plain", float64(len(body))/ev, "wire-B/event", events, "events/op")
	r.res.add(name+"/op=sign", perEvent(signPlain), "ns/event", float64(signPlain.AllocedBytesPerOp())/ev, "B/event")
	r.res.add(name+"/op=gzip", perEvent(gzipRes), "ns/event", float64(len(zipped))/ev, "wire-B/event")
	r.res.add(name+"/op=gzip+sign", perEvent(gzipRes)+perEvent(signGz), "ns/event", float64(len(zipped))/ev, "wire-B/event")
	r.res.add(name+"/op=stdgzip-default", perEvent(stdRes), "ns/event", float64(stdOut.Len())/ev, "wire-B/event")
	r.res.note("transport (VPC, %d-event %.1f MiB _bulk body, one core, best of %d): SigV4 signing %.0f ns/event uncompressed, %.0f ns/event after gzip; gzip (klauspost level %d) %.0f ns/event, %.0f → %.0f wire bytes/event (%.1f×); stdlib gzip default level %.0f ns/event, %.0f bytes/event",
		events, float64(len(body))/(1<<20), runs, perEvent(signPlain), perEvent(signGz), osclient.GzipLevel, perEvent(gzipRes),
		float64(len(body))/ev, float64(len(zipped))/ev, float64(len(body))/float64(len(zipped)), perEvent(stdRes), float64(stdOut.Len())/ev)
	logf("transport: sign %.0f ns/event (plain), %.0f (gzipped); gzip %.0f ns/event; wire %.0f → %.0f B/event",
		perEvent(signPlain), perEvent(signGz), perEvent(gzipRes), float64(len(body))/ev, float64(len(zipped))/ev)
	return nil
}

// vpcBulk builds one _bulk body of at most max bytes from VPC Flow Log
// documents normalized by the real binary.
func (r *runner) vpcBulk(ctx context.Context, max int) ([]byte, int, error) {
	obj, err := fixture.Generate("vpcflowlogs", 7, 20000)
	if err != nil {
		return nil, 0, err
	}
	in := filepath.Join(r.tmp, "transport-vpc.log")
	if err := os.WriteFile(in, obj.Raw, 0o644); err != nil {
		return nil, 0, err
	}
	cmd := exec.CommandContext(ctx, r.cliBin, "normalize", "--key", obj.Key, "--now", "2025-03-14T12:00:00Z", "--exclude-ssm-prefix", "", in)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, 0, fmt.Errorf("normalize: %w", err)
	}
	var body []byte
	events := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		src := gjson.GetBytes(line, "_source")
		next := fixture.AppendBulk(nil, gjson.GetBytes(line, "_index").String(), gjson.GetBytes(line, "_id").String(), []byte(src.Raw))
		if len(body)+len(next) > max {
			break
		}
		body = append(body, next...)
		events++
	}
	if events == 0 {
		return nil, 0, fmt.Errorf("normalize produced no documents")
	}
	return body, events, nil
}
