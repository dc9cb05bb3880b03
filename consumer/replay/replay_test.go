package replay

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

func TestParseTime(t *testing.T) {
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
		got, err := ParseTime(tc.in, now)
		if (err == nil) != tc.ok {
			t.Errorf("ParseTime(%q) error %v, want ok=%v", tc.in, err, tc.ok)
			continue
		}
		if tc.ok && !got.Equal(tc.want) {
			t.Errorf("ParseTime(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestParseRange(t *testing.T) {
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
		{"2025-03-15T00:00:00Z", "", false, time.Time{}},   // from in the future
		{"1h", "2025-03-15T00:00:00Z", false, time.Time{}}, // to in the future: ends cannot be fixed
		{"1h", "now", true, now},
	} {
		r, err := ParseRange(tc.from, tc.to, now)
		if (err == nil) != tc.ok {
			t.Errorf("ParseRange(%q, %q) error %v, want ok=%v", tc.from, tc.to, err, tc.ok)
			continue
		}
		if tc.ok && !r.To.Equal(tc.wantTo) {
			t.Errorf("ParseRange(%q, %q).To = %s, want %s", tc.from, tc.to, r.To, tc.wantTo)
		}
	}
}

func TestAppName(t *testing.T) {
	got := AppName("siemstream", time.Date(2025, 3, 14, 10, 30, 5, 999, time.FixedZone("x", 3600)))
	if want := "siemstream-replay-20250314T093005Z"; got != want {
		t.Errorf("AppName = %q, want %q", got, want)
	}
}

func TestScope(t *testing.T) {
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
		got, err := Scope(all, tc.spec)
		if (err == nil) != tc.ok {
			t.Errorf("Scope(%q) error %v, want ok=%v", tc.spec, err, tc.ok)
			continue
		}
		if tc.ok && !slices.Equal(got, tc.want) {
			t.Errorf("Scope(%q) = %v, want %v", tc.spec, got, tc.want)
		}
	}
}

// TestReached: the completion rule on a checkpoint, sub-sequence included.
func TestReached(t *testing.T) {
	end := lease.ReplayEnd{SequenceNumber: "500", LastSubSequence: 3}
	for _, tc := range []struct {
		cp   string
		sub  int64
		want bool
	}{
		{"", 0, false},
		{lease.CheckpointAtTimestamp, 0, false},
		{lease.CheckpointTrimHorizon, 0, false},
		{lease.CheckpointShardEnd, 0, true},
		{"499", 99, false},
		{"500", 0, false}, // inside the last aggregate
		{"500", 2, false},
		{"500", 3, true},
		{"500", -1, true}, // a whole-aggregate layout (kcl)
		{"501", 0, true},
		{"0500", 3, true}, // numeric, not lexical
		{"1000", 0, true},
		{"99", 0, false},
	} {
		if got := end.Reached(lease.ShardCheckpoint{Checkpoint: tc.cp, SubSequence: tc.sub}); got != tc.want {
			t.Errorf("Reached(%q/%d) = %v, want %v", tc.cp, tc.sub, got, tc.want)
		}
	}
	if !(lease.ReplayEnd{Empty: true}).Reached(lease.ShardCheckpoint{Checkpoint: lease.CheckpointAtTimestamp}) {
		t.Error("an empty range is not reached at once")
	}
	if (lease.ReplayEnd{Empty: true}).Covers("1", 0) {
		t.Error("an empty range covers a record")
	}
	for _, tc := range []struct {
		seq  string
		sub  int64
		want bool
	}{{"1", 0, true}, {"500", 3, true}, {"500", 4, false}, {"501", 0, false}, {"x", 0, false}} {
		if got := end.Covers(tc.seq, tc.sub); got != tc.want {
			t.Errorf("Covers(%s/%d) = %v, want %v", tc.seq, tc.sub, got, tc.want)
		}
	}
}

// fakeProcessor acknowledges every batch by checkpointing its last record.
type fakeProcessor struct{ got []lease.Record }

func (f *fakeProcessor) Initialize(context.Context, string) {}
func (f *fakeProcessor) ProcessRecords(ctx context.Context, recs []lease.Record, cp lease.Checkpointer, _ int64) {
	f.got = append(f.got, recs...)
	_ = cp.Checkpoint(ctx, &recs[len(recs)-1])
}
func (f *fakeProcessor) Shutdown(ctx context.Context, reason lease.ShutdownReason, cp lease.Checkpointer) {
	if reason == lease.ShardEnd {
		_ = cp.CheckpointShardEnd(ctx)
	}
}

type fakeCheckpointer struct{ last string }

func (f *fakeCheckpointer) Checkpoint(_ context.Context, r *lease.Record) error {
	f.last = r.SequenceNumber + "/" + string(rune('0'+r.SubSequence))
	return nil
}
func (f *fakeCheckpointer) CheckpointShardEnd(context.Context) error {
	f.last = "SHARD_END"
	return nil
}

func newTestReplay(t *testing.T, from, to time.Time, ends map[string]lease.ReplayEnd) *Replay {
	t.Helper()
	var scope []string
	for id := range ends {
		scope = append(scope, id)
	}
	r, err := New(Config{Stream: "s", Range: Range{From: from, To: to}, Scope: scope, Ends: nopStore{}, Kinesis: nopKinesis{}, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	for id, e := range ends {
		r.shards[id].setEnd(e)
	}
	return r
}

func TestProcessorCutsAtTheEnd(t *testing.T) {
	from, to := time.Unix(1000, 0), time.Unix(2000, 0)
	rec := func(seq string, sub int64, last bool, at int64) lease.Record {
		return lease.Record{SequenceNumber: seq, SubSequence: sub, LastInAggregate: last, ArrivalTime: time.Unix(at, 0), Data: []byte("xx")}
	}
	end := lease.ReplayEnd{SequenceNumber: "3", LastSubSequence: 1, FirstArrival: time.Unix(1000, 0), LastArrival: time.Unix(1500, 0)}
	tests := []struct {
		name     string
		end      lease.ReplayEnd
		batches  [][]lease.Record
		want     []string // seq/sub handed to the inner processor
		done     bool
		lastCkpt string
	}{
		{"before, in range, after", end, [][]lease.Record{{rec("1", 0, true, 900), rec("2", 0, true, 1000), rec("3", 0, false, 1500), rec("3", 1, true, 1500), rec("4", 0, true, 2001)}},
			[]string{"2/0", "3/0", "3/1"}, true, "3/1"},
		{"only before: checkpoint past them", end, [][]lease.Record{{rec("1", 0, true, 500), rec("2", 0, false, 999), rec("2", 1, true, 999)}}, nil, false, "2/1"},
		{"quiet stream: the end is the last record read", end, [][]lease.Record{{rec("2", 0, true, 1200)}, {rec("3", 0, false, 1500), rec("3", 1, true, 1500)}},
			[]string{"2/0", "3/0", "3/1"}, true, "3/1"},
		{"batch ends inside the last aggregate", end, [][]lease.Record{{rec("2", 0, true, 1200), rec("3", 0, false, 1500)}},
			[]string{"2/0", "3/0"}, false, "3/0"},
		{"nothing after done", end, [][]lease.Record{{rec("3", 0, false, 1500), rec("3", 1, true, 1500)}, {rec("4", 0, true, 1600)}},
			[]string{"3/0", "3/1"}, true, "3/1"},
		{"empty range", lease.ReplayEnd{Empty: true}, [][]lease.Record{{rec("7", 0, true, 1500)}}, nil, true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newTestReplay(t, from, to, map[string]lease.ReplayEnd{"s": tc.end})
			if tc.end.Empty {
				r.finish(r.shards["s"], "nothing in range")
			}
			inner := &fakeProcessor{}
			p := &processor{inner: inner, r: r}
			p.Initialize(context.Background(), "s")
			cp := &fakeCheckpointer{}
			for _, b := range tc.batches {
				p.ProcessRecords(context.Background(), b, cp, 0)
			}
			var got []string
			for _, x := range inner.got {
				got = append(got, x.SequenceNumber+"/"+string(rune('0'+x.SubSequence)))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("inner got %v, want %v", got, tc.want)
			}
			if d := r.shards["s"].isDone(); d != tc.done {
				t.Errorf("done = %v, want %v", d, tc.done)
			}
			if cp.last != tc.lastCkpt {
				t.Errorf("last checkpoint %q, want %q", cp.last, tc.lastCkpt)
			}
			if c := r.Counters(); c.Finish != tc.done || (tc.done && c.ETA != 0) {
				t.Errorf("counters: finish %v eta %s", c.Finish, c.ETA)
			}
		})
	}
}

func TestProcessorShardEndFinishes(t *testing.T) {
	r := newTestReplay(t, time.Unix(0, 0), time.Unix(10, 0), map[string]lease.ReplayEnd{"s": {SequenceNumber: "9", FirstArrival: time.Unix(1, 0), LastArrival: time.Unix(9, 0)}})
	p := &processor{inner: &fakeProcessor{}, r: r}
	p.Initialize(context.Background(), "s")
	p.Shutdown(context.Background(), lease.ShardEnd, &fakeCheckpointer{})
	if !r.shards["s"].isDone() || r.Err() != nil {
		t.Errorf("shard end did not finish the shard: %v", r.Err())
	}
}

func TestProcessorOutOfScope(t *testing.T) {
	r := newTestReplay(t, time.Unix(0, 0), time.Unix(10, 0), map[string]lease.ReplayEnd{"s": {Empty: true}})
	inner := &fakeProcessor{}
	p := &processor{inner: inner, r: r}
	p.Initialize(context.Background(), "other")
	p.ProcessRecords(context.Background(), []lease.Record{{SequenceNumber: "1", ArrivalTime: time.Unix(5, 0), LastInAggregate: true}}, &fakeCheckpointer{}, 0)
	if len(inner.got) != 0 {
		t.Errorf("a shard out of scope was loaded: %v", inner.got)
	}
}

// TestProgressConverges: percent and ETA come from the arrival time reached
// in the shard's fixed range; the ETA falls to zero at the end.
func TestProgressConverges(t *testing.T) {
	e := lease.ReplayEnd{SequenceNumber: "100", FirstArrival: time.Unix(1000, 0), LastArrival: time.Unix(2000, 0)}
	s := &shard{id: "s", known: make(chan struct{})}
	s.setEnd(e)
	s.progress(10, 1000, time.Unix(1000, 0), time.Unix(1250, 0))
	s.firstAt = time.Now().Add(-time.Minute) // a quarter in one minute
	p := s.snapshot(time.Now())
	if p.Percent != 25 || p.RecordsTotal != 40 || p.BytesTotal != 4000 || p.Exact {
		t.Errorf("a quarter: %+v", p)
	}
	if p.ETA < 179*time.Second || p.ETA > 181*time.Second {
		t.Errorf("eta %s, want 3m", p.ETA)
	}
	s.progress(30, 3000, time.Unix(1250, 0), time.Unix(2000, 0))
	if p := s.snapshot(time.Now()); p.Percent != 100 || p.ETA != 0 || p.RecordsTotal != 40 {
		t.Errorf("at the end: %+v", p)
	}
	s.done = true
	if p := s.snapshot(time.Now()); !p.Exact || p.RecordsTotal != 40 || p.ETA != 0 {
		t.Errorf("finished: %+v", p)
	}
	if f := fraction(lease.ReplayEnd{FirstArrival: time.Unix(5, 0), LastArrival: time.Unix(5, 0)}, time.Unix(5, 0)); f != 1 {
		t.Errorf("one-instant range at its end: %v", f)
	}
}

type nopStore struct{}

func (nopStore) ReadCheckpoints(context.Context) ([]lease.ShardCheckpoint, error) { return nil, nil }
func (nopStore) PutReplayEnd(_ context.Context, _ string, e lease.ReplayEnd) (lease.ReplayEnd, error) {
	return e, nil
}

type nopKinesis struct{ KinesisReader }
