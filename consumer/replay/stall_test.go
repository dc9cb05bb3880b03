package replay

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/rs/zerolog"

	"github.com/siemstream/siemstream/internal/awsconf"
	"github.com/siemstream/siemstream/internal/e2e"
)

// TestFindEndStalledCalls: Kinesis accepts a call and never answers it (a
// half-open connection after a NAT or load-balancer drop). FindEnd and
// ListShards must give up on such a call after the call timeout and retry
// it, finding the same end as with every call answered; without the bound
// the replay waits for good. The real kinesalite answers the rest.
func TestFindEndStalledCalls(t *testing.T) {
	s := needStack(t)
	upstream := awsconf.Endpoint("KINESIS")
	if upstream == "" {
		t.Skip("no local Kinesis endpoint")
	}
	stream := s.createStream(t, 1)
	sh := s.shards(t, stream)[0]
	id := aws.ToString(sh.ShardId)
	t0 := time.Now().Add(-time.Second)
	s.put(t, stream, sh, 0)
	seq, at := s.put(t, stream, sh, 2)
	clockPast(t, at.Add(10*time.Millisecond))
	t1 := time.Now()
	want := findEnd(t, s, stream, id, t0, t1)
	if want.Empty || want.SequenceNumber != seq {
		t.Fatalf("end without stalls: %+v, want %s", want, seq)
	}
	for _, target := range []string{"Kinesis_20131202.GetRecords", "Kinesis_20131202.ListShards"} {
		t.Run(strings.TrimPrefix(target, "Kinesis_20131202."), func(t *testing.T) {
			p, err := e2e.NewStallProxy(upstream, target, 1)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			cfg := e2e.AWSOrSkip(t).AWS
			kin := kinesis.NewFromConfig(cfg, func(o *kinesis.Options) { o.BaseEndpoint = aws.String(p.URL()) })
			// Well under the 30s default: only the bound lets this pass.
			ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
			defer cancel()
			const timeout = time.Second
			if target == "Kinesis_20131202.ListShards" {
				// One shot: a call not answered fails the listing
				// with a clear error; the next one succeeds.
				if _, err := ListShards(ctx, kin, stream, timeout); err == nil || !strings.Contains(err.Error(), "not answered") {
					t.Fatalf("stalled ListShards: err %v, want not answered", err)
				}
				shards, err := ListShards(ctx, kin, stream, timeout)
				if err != nil || len(shards) != 1 {
					t.Fatalf("ListShards after the stall: %d shards, %v", len(shards), err)
				}
				return
			}
			got, err := FindEnd(ctx, kin, stream, id, Range{From: t0, To: t1}, timeout)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("end with a stalled call: %+v, want %+v", got, want)
			}
			if p.Stalled() != 1 {
				t.Errorf("%d calls held, want 1", p.Stalled())
			}
		})
	}
}

// TestCallTimeoutValidate: 0 is the default; below 100ms is refused.
func TestCallTimeoutValidate(t *testing.T) {
	c := Config{Stream: "s", Range: Range{From: time.Unix(0, 0), To: time.Unix(1, 0)}, Scope: []string{"x"}, Ends: nopStore{}, Kinesis: nopKinesis{}, Log: zerolog.Nop()}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	c.CallTimeout = 10 * time.Millisecond
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "call timeout") {
		t.Fatalf("CallTimeout 10ms: err %v", err)
	}
}
