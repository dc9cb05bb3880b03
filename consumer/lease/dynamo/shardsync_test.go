package dynamo

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func renderPlan(ls []Lease) string {
	var parts []string
	for _, l := range ls {
		s := l.Key + "=" + l.Checkpoint
		if len(l.Parents) > 0 {
			s += "<" + strings.Join(l.Parents, "+")
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

func TestPlanLeases(t *testing.T) {
	// s0 split into s2,s3; s3 merged with s1 into s4. s0, s1, s3 closed.
	lineage := []shardInfo{
		{ID: "s0", Closed: true},
		{ID: "s1", Closed: true},
		{ID: "s2", Parents: []string{"s0"}},
		{ID: "s3", Parents: []string{"s0"}, Closed: true},
		{ID: "s4", Parents: []string{"s1", "s3"}},
	}
	for _, tc := range []struct {
		name     string
		shards   []shardInfo
		existing []string
		initial  string
		filter   []string
		want     string
	}{
		{"fresh stream", []shardInfo{{ID: "s0"}, {ID: "s1"}}, nil, TrimHorizon, nil, "s0=TRIM_HORIZON s1=TRIM_HORIZON"},
		{"fresh stream LATEST", []shardInfo{{ID: "s0"}, {ID: "s1"}}, nil, Latest, nil, "s0=LATEST s1=LATEST"},
		{"all created", []shardInfo{{ID: "s0"}}, []string{"s0"}, TrimHorizon, nil, ""},
		{"lineage from TRIM_HORIZON: ancestors first, children at TRIM_HORIZON", lineage, nil, TrimHorizon, nil,
			"s0=TRIM_HORIZON s1=TRIM_HORIZON s2=TRIM_HORIZON<s0 s3=TRIM_HORIZON<s0 s4=TRIM_HORIZON<s1+s3"},
		{"lineage from LATEST: closed roots skipped, open leaves LATEST", lineage, nil, Latest, nil,
			"s2=LATEST<s0 s4=LATEST<s1+s3"},
		{"lineage from AT_TIMESTAMP", lineage, nil, AtTimestamp, nil,
			"s0=AT_TIMESTAMP s1=AT_TIMESTAMP s2=TRIM_HORIZON<s0 s3=TRIM_HORIZON<s0 s4=TRIM_HORIZON<s1+s3"},
		{"split after consuming: children of a consumed parent at TRIM_HORIZON even with LATEST", lineage, []string{"s0", "s1"}, Latest, nil,
			"s2=TRIM_HORIZON<s0 s3=TRIM_HORIZON<s0 s4=TRIM_HORIZON<s1+s3"},
		{"cleaned-up parent is not re-created", lineage, []string{"s1", "s2", "s3"}, TrimHorizon, nil, "s4=TRIM_HORIZON<s1+s3"},
		{"parent trimmed from the stream but its lease exists", []shardInfo{{ID: "s2", Parents: []string{"s0"}}}, []string{"s0"}, Latest, nil, "s2=TRIM_HORIZON<s0"},
		{"parent trimmed and gone: child is a root", []shardInfo{{ID: "s2", Parents: []string{"s0"}}}, nil, Latest, nil, "s2=LATEST<s0"},
		{"shard filter", lineage, nil, TrimHorizon, []string{"s2", "s4"}, "s2=TRIM_HORIZON<s0 s4=TRIM_HORIZON<s1+s3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			existing := map[string]bool{}
			for _, k := range tc.existing {
				existing[k] = true
			}
			var filter map[string]bool
			if tc.filter != nil {
				filter = map[string]bool{}
				for _, k := range tc.filter {
					filter[k] = true
				}
			}
			got := planLeases(slices.Clone(tc.shards), existing, tc.initial, filter)
			if renderPlan(got) != tc.want {
				t.Fatalf("got  %s\nwant %s", renderPlan(got), tc.want)
			}
			// Parents always come before their children.
			pos := map[string]int{}
			for i, l := range got {
				pos[l.Key] = i
			}
			for _, l := range got {
				for _, p := range l.Parents {
					if i, ok := pos[p]; ok && i > pos[l.Key] {
						t.Fatalf("%s created before its parent %s", l.Key, p)
					}
				}
			}
		})
	}
}

func TestDecodeLeaseRoundTrip(t *testing.T) {
	// The item create writes, plus what renew/take/checkpoint add.
	l := Lease{Key: "shardId-000000000003", Checkpoint: TrimHorizon, Parents: []string{"shardId-000000000000", "shardId-000000000001"},
		StartingHashKey: "0", EndingHashKey: "340282366920938463463374607431768211455"}
	fake := &recordingDB{}
	tb := &leaseTable{db: fake, name: "t"}
	if _, err := tb.create(t.Context(), l); err != nil {
		t.Fatal(err)
	}
	got, err := decodeLease(fake.lastPut)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(l) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, l)
	}
}
