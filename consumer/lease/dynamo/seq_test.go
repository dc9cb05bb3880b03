package dynamo

import (
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/siemstream/siemstream/consumer/lease"
	"github.com/siemstream/siemstream/internal/wire"
)

func TestCompareSeq(t *testing.T) {
	k1 := "49590338271490256608559692538361571095921575989136588898"
	k2 := "49590338271490256608559692540925702759324208523137515618"
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"1", "2", -1},
		{"2", "10", -1}, // lexical order would say +1
		{"10", "9", 1},
		{"007", "7", 0},
		{"0", "00", 0},
		{k1, k2, -1},
		{k2, k1, 1},
		{k1, k1, 0},
		{"99", k1, -1},
	} {
		if got := compareSeq(tc.a, tc.b); got != tc.want {
			t.Errorf("compareSeq(%s, %s) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestComparePos(t *testing.T) {
	for _, tc := range []struct {
		a, b position
		want int
	}{
		{position{"5", 0}, position{"5", 0}, 0},
		{position{"5", 1}, position{"5", 0}, 1},
		{position{"5", 9}, position{"6", 0}, -1},
		{position{"10", 0}, position{"9", 99}, 1},
	} {
		if got := comparePos(tc.a, tc.b); got != tc.want {
			t.Errorf("comparePos(%v, %v) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestValidSeq(t *testing.T) {
	for s, want := range map[string]bool{"1": true, "0042": true, "": false, "TRIM_HORIZON": false, "12a": false, "-1": false, strings.Repeat("9", 129): false} {
		if validSeq(s) != want {
			t.Errorf("validSeq(%q) = %v", s, !want)
		}
	}
}

func FuzzCompareSeq(f *testing.F) {
	f.Add("1", "2")
	f.Add("0010", "9")
	f.Add("49590338271490256608559692538361571095921575989136588898", "49590338271490256608559692540925702759324208523137515618")
	f.Fuzz(func(t *testing.T, a, b string) {
		if !validSeq(a) || !validSeq(b) {
			return
		}
		x, _ := new(big.Int).SetString(a, 10)
		y, _ := new(big.Int).SetString(b, 10)
		if got, want := compareSeq(a, b), x.Cmp(y); got != want {
			t.Fatalf("compareSeq(%s, %s) = %d, big.Int says %d", a, b, got, want)
		}
	})
}

// kin builds a Kinesis record; data is plain or a KPL aggregate of subs.
func kin(seq string, subs ...string) ktypes.Record {
	var data []byte
	if len(subs) == 1 && !strings.HasPrefix(subs[0], "agg:") {
		data = []byte(subs[0])
	} else {
		recs := make([][]byte, len(subs))
		for i, s := range subs {
			recs[i] = []byte(strings.TrimPrefix(s, "agg:"))
		}
		data = wire.AppendAggregate(nil, "pk", "", recs)
	}
	return ktypes.Record{SequenceNumber: aws.String(seq), Data: data, PartitionKey: aws.String("pk")}
}

func render(recs []lease.Record) string {
	var b strings.Builder
	for _, r := range recs {
		last := ""
		if r.LastInAggregate {
			last = "$"
		}
		fmt.Fprintf(&b, "%s/%d:%s%s ", r.SequenceNumber, r.SubSequence, r.Data, last)
	}
	return strings.TrimSpace(b.String())
}

func TestUserRecordsResume(t *testing.T) {
	page := []ktypes.Record{
		kin("7", "a"),
		kin("8", "agg:b0", "agg:b1", "agg:b2"),
		kin("10", "c"),
	}
	for _, tc := range []struct {
		name string
		skip *position
		want string
	}{
		{"no checkpoint", nil, "7/0:a$ 8/0:b0 8/1:b1 8/2:b2$ 10/0:c$"},
		{"plain record checkpointed", &position{"7", 0}, "8/0:b0 8/1:b1 8/2:b2$ 10/0:c$"},
		{"mid aggregate", &position{"8", 0}, "8/1:b1 8/2:b2$ 10/0:c$"},
		{"mid aggregate 2", &position{"8", 1}, "8/2:b2$ 10/0:c$"},
		{"end of aggregate", &position{"8", 2}, "10/0:c$"},
		{"everything", &position{"10", 0}, ""},
		{"numeric not lexical", &position{"9", 0}, "10/0:c$"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			skip := tc.skip
			got, _, bad := userRecords(nil, page, &skip, nil)
			if bad != 0 {
				t.Fatalf("bad = %d", bad)
			}
			if render(got) != tc.want {
				t.Fatalf("got  %s\nwant %s", render(got), tc.want)
			}
			if tc.want != "" && skip != nil {
				t.Fatalf("skip not cleared after a later record")
			}
		})
	}
}

func TestUserRecordsBadAggregate(t *testing.T) {
	r := kin("3", "agg:x", "agg:y")
	r.Data[len(r.Data)-1] ^= 0xff // break the MD5
	var skip *position
	got, _, bad := userRecords(nil, []ktypes.Record{r}, &skip, nil)
	if bad != 1 || len(got) != 1 || string(got[0].Data) != string(r.Data) || !got[0].LastInAggregate {
		t.Fatalf("bad=%d got=%v: want the whole record delivered once as plain", bad, render(got))
	}
}

func isNotAtShardEnd(err error) bool { return errors.Is(err, ErrNotAtShardEnd) }
