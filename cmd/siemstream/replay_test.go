package main

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/rs/zerolog"

	"github.com/siemstream/siemstream/consumer/lease"
)

func TestParseReplayTime(t *testing.T) {
	now := time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2025-03-14T10:30:00Z", time.Date(2025, 3, 14, 10, 30, 0, 0, time.UTC), true},
		{"2025-03-14T10:30:00.123+09:00", time.Date(2025, 3, 14, 1, 30, 0, 123e6, time.UTC), true},
		{"2025-03-14T10:30", time.Date(2025, 3, 14, 10, 30, 0, 0, time.UTC), true},
		{"2025-03-14T10:30:05", time.Date(2025, 3, 14, 10, 30, 5, 0, time.UTC), true},
		{"2025-03-14", time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC), true},
		{"1741950000", time.Unix(1741950000, 0).UTC(), true},
		{"1h", now.Add(-time.Hour), true},
		{"-90m", now.Add(-90 * time.Minute), true},
		{"now", now, true},
		{"", time.Time{}, false},
		{"yesterday", time.Time{}, false},
		{"-5", time.Time{}, false},
		{"0s", time.Time{}, false},
	}
	for _, tc := range tests {
		got, err := parseReplayTime(tc.in, now)
		if (err == nil) != tc.ok {
			t.Errorf("parseReplayTime(%q) error %v, want ok=%v", tc.in, err, tc.ok)
			continue
		}
		if tc.ok && !got.Equal(tc.want) {
			t.Errorf("parseReplayTime(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestParseReplayRange(t *testing.T) {
	now := time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		from, to string
		ok       bool
		wantTo   time.Time
	}{
		{"1h", "", true, now},
		{"2h", "1h", true, now.Add(-time.Hour)},
		{"1h", "2h", false, time.Time{}},
		{"", "1h", false, time.Time{}},
		{"2025-03-15T00:00:00Z", "", false, time.Time{}}, // from in the future
		{"1h", "2025-03-15T00:00:00Z", true, time.Date(2025, 3, 15, 0, 0, 0, 0, time.UTC)},
	} {
		r, err := parseReplayRange(tc.from, tc.to, now)
		if (err == nil) != tc.ok {
			t.Errorf("parseReplayRange(%q, %q) error %v, want ok=%v", tc.from, tc.to, err, tc.ok)
			continue
		}
		if tc.ok && !r.to.Equal(tc.wantTo) {
			t.Errorf("parseReplayRange(%q, %q).to = %s, want %s", tc.from, tc.to, r.to, tc.wantTo)
		}
	}
}

func TestReplayAppName(t *testing.T) {
	got := replayAppName("siemstream", time.Date(2025, 3, 14, 10, 30, 5, 999, time.FixedZone("x", 3600)))
	if want := "siemstream-replay-20250314T093005Z"; got != want {
		t.Errorf("replayAppName = %q, want %q", got, want)
	}
}

func TestReplayScope(t *testing.T) {
	all := []ktypes.Shard{{ShardId: aws.String("shardId-000000000000")}, {ShardId: aws.String("shardId-000000000001")}, {ShardId: aws.String("shardId-000000000003")}}
	for _, tc := range []struct {
		spec string
		want []string
		ok   bool
	}{
		{"", []string{"shardId-000000000000", "shardId-000000000001", "shardId-000000000003"}, true},
		{"3,0", []string{"shardId-000000000000", "shardId-000000000003"}, true},
		{"shardId-000000000001, 1", []string{"shardId-000000000001"}, true},
		{"2", nil, false},
		{" , ", nil, false},
	} {
		got, err := replayScope(all, tc.spec)
		if (err == nil) != tc.ok {
			t.Errorf("replayScope(%q) error %v, want ok=%v", tc.spec, err, tc.ok)
			continue
		}
		if tc.ok && !slices.Equal(got, tc.want) {
			t.Errorf("replayScope(%q) = %v, want %v", tc.spec, got, tc.want)
		}
	}
}

func TestReplayETA(t *testing.T) {
	r := replayRange{from: time.Unix(0, 0), to: time.Unix(3600, 0)}
	eta, ok := replayETA(r, time.Unix(900, 0), time.Minute) // a quarter in one minute
	if !ok || eta != 3*time.Minute {
		t.Errorf("eta = %s %v, want 3m", eta, ok)
	}
	if _, ok := replayETA(r, time.Unix(0, 0), time.Minute); ok {
		t.Error("eta with nothing covered")
	}
}

// fakeProcessor acknowledges every batch by checkpointing its last record.
type fakeProcessor struct{ got []lease.Record }

func (f *fakeProcessor) Initialize(context.Context, string) {}
func (f *fakeProcessor) ProcessRecords(ctx context.Context, recs []lease.Record, cp lease.Checkpointer, _ int64) {
	f.got = append(f.got, recs...)
	_ = cp.Checkpoint(ctx, &recs[len(recs)-1])
}
func (f *fakeProcessor) Shutdown(context.Context, lease.ShutdownReason, lease.Checkpointer) {}

type fakeCheckpointer struct{ last string }

func (f *fakeCheckpointer) Checkpoint(_ context.Context, r *lease.Record) error {
	f.last = r.SequenceNumber
	return nil
}
func (f *fakeCheckpointer) CheckpointShardEnd(context.Context) error {
	f.last = "SHARD_END"
	return nil
}

func TestReplayProcessorCutsTheRange(t *testing.T) {
	from, to := time.Unix(1000, 0), time.Unix(2000, 0)
	rec := func(seq string, at int64) lease.Record {
		return lease.Record{SequenceNumber: seq, ArrivalTime: time.Unix(at, 0), LastInAggregate: true}
	}
	tests := []struct {
		name     string
		batches  [][]lease.Record
		want     []string // sequence numbers handed to the inner processor
		done     bool
		lastCkpt string
	}{
		{"before, in range, after", [][]lease.Record{{rec("1", 900), rec("2", 1000), rec("3", 1500), rec("4", 2001), rec("5", 2500)}}, []string{"2", "3"}, true, "3"},
		{"only before: checkpoint past them", [][]lease.Record{{rec("1", 500), rec("2", 999)}}, nil, false, "2"},
		{"in range, not finished", [][]lease.Record{{rec("1", 1500)}, {rec("2", 2000)}}, []string{"1", "2"}, false, "2"},
		{"after --to right away", [][]lease.Record{{rec("7", 3000)}}, nil, true, ""},
		{"nothing after done", [][]lease.Record{{rec("1", 1500), rec("2", 2500)}, {rec("3", 1600)}}, []string{"1"}, true, "1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := &replayTracker{rng: replayRange{from: from, to: to}, scope: []string{"s"}, log: zerolog.Nop(),
				shards: map[string]*replayShard{"s": {id: "s"}}}
			inner := &fakeProcessor{}
			p := &replayProcessor{inner: inner, tr: tr}
			p.Initialize(context.Background(), "s")
			cp := &fakeCheckpointer{}
			for _, b := range tc.batches {
				p.ProcessRecords(context.Background(), b, cp, 0)
			}
			var got []string
			for _, r := range inner.got {
				got = append(got, r.SequenceNumber)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("inner got %v, want %v", got, tc.want)
			}
			if d := tr.shards["s"].isDone(); d != tc.done {
				t.Errorf("done = %v, want %v", d, tc.done)
			}
			if cp.last != tc.lastCkpt {
				t.Errorf("last checkpoint %q, want %q", cp.last, tc.lastCkpt)
			}
		})
	}
}

func TestReplayProcessorOutOfScope(t *testing.T) {
	tr := &replayTracker{rng: replayRange{from: time.Unix(0, 0), to: time.Unix(10, 0)}, log: zerolog.Nop(), shards: map[string]*replayShard{}}
	inner := &fakeProcessor{}
	p := &replayProcessor{inner: inner, tr: tr}
	p.Initialize(context.Background(), "other")
	p.ProcessRecords(context.Background(), []lease.Record{{SequenceNumber: "1", ArrivalTime: time.Unix(5, 0), LastInAggregate: true}}, &fakeCheckpointer{}, 0)
	if len(inner.got) != 0 {
		t.Errorf("a shard out of scope was loaded: %v", inner.got)
	}
}
