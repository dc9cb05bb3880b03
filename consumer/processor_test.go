package consumer

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/siemstream/siemstream/consumer/lease"
	"github.com/siemstream/siemstream/consumer/sink"
	"github.com/siemstream/siemstream/internal/obs"
	"github.com/siemstream/siemstream/stages"
)

// lineUnpacker makes one event per byte of data; data "!" is not a chunk.
type lineUnpacker struct{ src stages.Source }

func (u *lineUnpacker) Unpack(data []byte, unit int, b *stages.Batch) error {
	if string(data) == "!" {
		return errors.New("not a chunk")
	}
	for i := range data {
		b.Events = append(b.Events, stages.Event{Src: &u.src, Ordinal: int64(i + 1), Raw: data[i : i+1], Unit: unit})
	}
	return nil
}

func (u *lineUnpacker) Release() {}

// toDoc fails raw "x", drops raw "d", keeps the rest.
type toDoc struct{}

func (toDoc) Name() string { return "todoc" }
func (toDoc) Process(_ context.Context, b *stages.Batch) error {
	for i := range b.Events {
		e := &b.Events[i]
		switch string(e.Raw) {
		case "x":
			e.Fail(&stages.StageError{Stage: "decode", Err: errors.New("bad")})
		case "d":
			e.Status = stages.Dropped
		default:
			e.Index, e.ID, e.Out = "idx", string(e.Raw)+strconv.FormatInt(e.Ordinal, 10), []byte(`{}`)
		}
	}
	return nil
}

type memSink struct {
	mu      sync.Mutex
	fail    int // fail this many whole writes first
	reject  string
	written map[string]int
}

func (s *memSink) Write(_ context.Context, docs []sink.Doc, res []sink.Result) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail > 0 {
		s.fail--
		return errors.New("connection refused")
	}
	if s.written == nil {
		s.written = map[string]int{}
	}
	for i, d := range docs {
		if d.ID == s.reject {
			res[i] = sink.Result{Outcome: sink.Rejected, Status: 400, Reason: "mapper_parsing_exception: boom"}
			continue
		}
		s.written[d.Index+"/"+d.ID]++
		res[i] = sink.Result{Outcome: sink.Delivered, Status: 201, Overwrote: s.written[d.Index+"/"+d.ID] > 1}
	}
	return nil
}

type memDL struct{ got []sink.DeadLetter }

func (m *memDL) Put(_ context.Context, dls []sink.DeadLetter) error {
	m.got = append(m.got, dls...)
	return nil
}

type memCP struct{ seqs []string }

func (c *memCP) Checkpoint(_ context.Context, r *lease.Record) error {
	c.seqs = append(c.seqs, r.SequenceNumber+"/"+strconv.FormatInt(r.SubSequence, 10))
	return nil
}
func (c *memCP) CheckpointShardEnd(context.Context) error {
	c.seqs = append(c.seqs, "SHARD_END")
	return nil
}

func newTestProcessor(s sink.Sink, dl sink.DeadLetters, batchEvents int) *processor {
	return &processor{
		unpack: &lineUnpacker{src: stages.Source{LogType: "t", Bucket: "b", Key: "k"}},
		chain:  stages.Chain{toDoc{}}, sink: s, deadLetters: dl,
		policy:      sink.RetryPolicy{Initial: time.Millisecond, Max: time.Millisecond},
		batchEvents: batchEvents, counts: obs.NewRegistry(), log: zerolog.Nop(), now: time.Now,
	}
}

func recs(data ...string) []lease.Record {
	out := make([]lease.Record, len(data))
	for i, d := range data {
		out[i] = lease.Record{Data: []byte(d), SequenceNumber: strconv.Itoa(i + 1), LastInAggregate: true}
	}
	return out
}

func TestCheckpointAfterAck(t *testing.T) {
	s := &memSink{}
	dl := &memDL{}
	p := newTestProcessor(s, dl, 3)
	cp := &memCP{}
	p.ProcessRecords(context.Background(), recs("ab", "cx", "d", "!", "e"), cp, 0)
	// Batches flush at >= 3 events: after record 2 (4 events) and at the end.
	if got, want := cp.seqs, []string{"2/0", "5/0"}; !slices.Equal(got, want) {
		t.Fatalf("checkpoints %v, want %v", got, want)
	}
	if len(s.written) != 4 { // a, b, c, e
		t.Fatalf("written %v", s.written)
	}
	if len(dl.got) != 2 || dl.got[0].Stage != "decode" || dl.got[1].Stage != "wire" {
		t.Fatalf("dead letters %+v", dl.got)
	}
	tot := p.counts.Total()
	if tot.Delivered != 4 || tot.Failed != 2 || tot.Excluded != 1 {
		t.Fatalf("counts %+v", tot)
	}
}

func TestSinkDownLeavesCheckpoint(t *testing.T) {
	s := &memSink{fail: 1 << 30}
	p := newTestProcessor(s, &memDL{}, 100)
	cp := &memCP{}
	ctx, cancel := context.WithCancel(context.Background())
	p.policy.OnRetry = func(round, _ int, _ time.Duration, _ error) {
		if round == 3 {
			cancel() // shutdown while the sink is still failing
		}
	}
	p.ProcessRecords(ctx, recs("ab", "c"), cp, 0)
	if len(cp.seqs) != 0 {
		t.Fatalf("checkpointed %v although nothing was acknowledged", cp.seqs)
	}
}

func TestRetryThenDeliver(t *testing.T) {
	s := &memSink{fail: 2, reject: "b2"}
	dl := &memDL{}
	p := newTestProcessor(s, dl, 100)
	cp := &memCP{}
	p.ProcessRecords(context.Background(), recs("ab"), cp, 0)
	if !slices.Equal(cp.seqs, []string{"1/0"}) {
		t.Fatalf("checkpoints %v", cp.seqs)
	}
	if len(dl.got) != 1 || dl.got[0].Stage != "opensearch" || dl.got[0].ID != "b2" {
		t.Fatalf("dead letters %+v", dl.got)
	}
}

func (*memSink) Health(context.Context) error { return nil }
func (*memSink) Close() error                 { return nil }
