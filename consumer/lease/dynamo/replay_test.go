package dynamo

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/siemstream/siemstream/internal/e2e"
)

// TestReplayAtTimestampShardFilter: a replay-style worker (own
// application, AT_TIMESTAMP, ShardFilter) reads exactly the filtered
// shard's records that arrived at or after the timestamp, and leases
// nothing else.
func TestReplayAtTimestampShardFilter(t *testing.T) {
	st := needStack(t)
	stream := st.createStream(t, "replay", 2)
	shards := st.openShards(t, stream)
	put := func(tag string) {
		var es []entry
		for i, sh := range shards {
			for j := range 5 {
				d := fmt.Sprintf("%s-s%d-%d", tag, i, j)
				es = append(es, entry{ehk: e2e.MidHashKey(sh), pk: d, recs: []string{d}})
			}
		}
		st.put(t, stream, es)
	}
	put("before")
	ts := st.timestampAfter(t, stream, shards)
	put("after")

	target := aws.ToString(shards[1].ShardId)
	cfg := testConfig(t, stream, "replayer")
	cfg.ApplicationName = stream + "-replay"
	cfg.InitialPositionInStream = AtTimestamp
	cfg.TimestampAtInitialPositionInStream = ts
	cfg.ShardFilter = []string{target}
	t.Cleanup(func() { st.dropTable(cfg.ApplicationName) })
	s := newSink()
	w := st.start(t, cfg, hooks{}, s.factory("replayer", nil))
	var want []string
	for j := range 5 {
		want = append(want, fmt.Sprintf("after-s1-%d", j))
	}
	waitFor(t, "the filtered shard's later records", 30*time.Second, func() bool { return s.has(want) })
	// Nothing else: put a marker after and wait for it, then compare.
	marker := entry{ehk: e2e.MidHashKey(shards[1]), pk: "m", recs: []string{"marker"}}
	st.put(t, stream, []entry{marker})
	want = append(want, "marker")
	waitFor(t, "marker", 30*time.Second, func() bool { return s.has(want) })
	if dups := s.check(t, want); dups != 0 {
		t.Errorf("%d duplicates", dups)
	}
	if held := w.c.Status().HeldShards(); !slices.Equal(held, []string{target}) {
		t.Errorf("held %v, want only %s", held, target)
	}
	ls := st.leases(t, cfg.ApplicationName)
	if len(ls) != 1 || ls[target].Key == "" {
		t.Errorf("lease table %s: %s; want only %s", cfg.ApplicationName, renderLeases(ls), target)
	}
	w.stop(t)
}

// TestRefusesVmwareTable: a table with vmware-go-kcl's key (ShardID) is
// refused at start instead of being mixed with the Java schema.
func TestRefusesVmwareTable(t *testing.T) {
	st := needStack(t)
	stream := st.createStream(t, "vmware", 1)
	_, err := st.db.CreateTable(t.Context(), &dynamodb.CreateTableInput{
		TableName: &stream, BillingMode: dtypes.BillingModePayPerRequest,
		AttributeDefinitions: []dtypes.AttributeDefinition{{AttributeName: aws.String("ShardID"), AttributeType: dtypes.ScalarAttributeTypeS}},
		KeySchema:            []dtypes.KeySchemaElement{{AttributeName: aws.String("ShardID"), KeyType: dtypes.KeyTypeHash}},
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewWithClients(testConfig(t, stream, "w1"), st.kin, st.db)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Run(t.Context(), newSink().factory("w1", nil)); !errors.Is(err, ErrNotLeaseTable) {
		t.Fatalf("Run on a vmware table: %v, want ErrNotLeaseTable", err)
	}
}
