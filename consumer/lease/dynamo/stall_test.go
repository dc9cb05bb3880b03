package dynamo

import (
	"fmt"
	"testing"
	"time"

	"github.com/siemstream/siemstream/internal/awsconf"
	"github.com/siemstream/siemstream/internal/e2e"
)

// TestStalledKinesisCalls: Kinesis accepts a call and never answers it (a
// half-open connection after a NAT or load-balancer drop). The coordinator
// must give up on such a call after KinesisCallTimeoutMillis and retry it,
// so the shard is still read to its last record; without the bound the
// shard stalls for good. The real kinesalite answers every call the stall
// proxy lets through.
func TestStalledKinesisCalls(t *testing.T) {
	st := needStack(t)
	upstream := awsconf.Endpoint("KINESIS")
	if upstream == "" {
		t.Skip("no local Kinesis endpoint")
	}
	for _, tc := range []struct {
		name, target string
		holds        int
	}{
		{"GetRecords", "Kinesis_20131202.GetRecords", 2},
		{"GetShardIterator", "Kinesis_20131202.GetShardIterator", 1},
		{"ListShards", "Kinesis_20131202.ListShards", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stream := st.createStream(t, "stall", 1)
			var es []entry
			var want []string
			for i := range 10 {
				d := fmt.Sprintf("rec-%s-%d", tc.name, i)
				es = append(es, entry{pk: d, recs: []string{d}})
				want = append(want, d)
			}
			st.put(t, stream, es)
			p, err := e2e.NewStallProxy(upstream, tc.target, tc.holds)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			cfg := testConfig(t, stream, "w1")
			cfg.KinesisCallTimeoutMillis = 1000
			s := newSink()
			w := st.startWith(t, cfg, hooks{}, s.factory("w1", nil), kinesisClient(st.awsCfg, p.URL()))
			// Well under the 30s default: only the bound lets this pass.
			waitFor(t, "every record although the first calls stall", 15*time.Second, func() bool { return s.has(want) })
			if got := p.Stalled(); got != tc.holds {
				t.Errorf("%d %s calls held, want %d", got, tc.name, tc.holds)
			}
			if dups := s.check(t, want); dups != 0 {
				t.Errorf("%d duplicates", dups)
			}
			w.stop(t)
		})
	}
}
