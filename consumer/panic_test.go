package consumer

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/siemstream/siemstream/stages"
)

// panicky panics on raw "p" (after touching the events before it, as a
// real stage working through a window would).
type panicky struct{}

func (panicky) Name() string { return "panicky" }
func (panicky) Process(_ context.Context, b *stages.Batch) error {
	for i := range b.Events {
		if string(b.Events[i].Raw) == "p" {
			var m map[string]int
			m["boom"]++ // a nil-map write: a real runtime panic
		}
	}
	return nil
}

type panicUnpacker struct{ lineUnpacker }

func (u *panicUnpacker) Unpack(data []byte, unit int, b *stages.Batch) error {
	if string(data) == "P" {
		b.Events = append(b.Events, stages.Event{Raw: data}) // half-done, then
		panic("unpack bug")
	}
	return u.lineUnpacker.Unpack(data, unit, b)
}

// TestPanicIsolated: a record that panics a stage or the unpacker is
// dead-lettered alone with its bytes; every other record of its batch and
// every record after it is delivered and the checkpoint moves past all.
func TestPanicIsolated(t *testing.T) {
	s := &memSink{}
	dl := &memDL{}
	p := newTestProcessor(s, dl, 1000)
	p.unpack = &panicUnpacker{lineUnpacker{src: stages.Source{LogType: "t", Bucket: "b", Key: "k"}}}
	p.chain = namedChain(stages.Chain{panicky{}, toDoc{}})
	p.shardID = "shardId-1"
	cp := &memCP{}
	p.ProcessRecords(context.Background(), recs("abp", "P", "chpe", "fg"), cp, 0)
	if got := cp.seqs; !slices.Equal(got, []string{"4/0"}) {
		t.Fatalf("checkpoints %v, want the last record", got)
	}
	want := []string{"a1", "b2", "c1", "h2", "e4", "f1", "g2"}
	for _, id := range want {
		if s.written["idx/"+id] != 1 {
			t.Errorf("%s written %d times", id, s.written["idx/"+id])
		}
	}
	if len(s.written) != len(want) {
		t.Errorf("written %v", s.written)
	}
	var stagesSeen []string
	for _, d := range dl.got {
		stagesSeen = append(stagesSeen, d.Stage+":"+string(d.Raw)+":"+d.Sequence)
		if d.Stage == "panic" && (!strings.Contains(d.Reason, "assignment to entry in nil map") || !strings.Contains(d.Reason, "stage panicky")) {
			t.Errorf("reason %q", d.Reason)
		}
	}
	slices.Sort(stagesSeen)
	if !slices.Equal(stagesSeen, []string{"panic:p:1", "panic:p:3", "wire:P:2"}) {
		t.Errorf("dead letters %v", stagesSeen)
	}
}

// plainFail fails raw "z" with an error that does not name its stage, as
// the real stages do.
type plainFail struct{}

func (plainFail) Name() string { return "decode" }
func (plainFail) Process(_ context.Context, b *stages.Batch) error {
	for i := range b.Events {
		if string(b.Events[i].Raw) == "z" {
			b.Events[i].Fail(errors.New("line does not match log_pattern"))
		}
	}
	return nil
}

// TestDeadLetterNamesStage: a dead letter says which stage refused the
// record and where it came from in the stream.
func TestDeadLetterNamesStage(t *testing.T) {
	dl := &memDL{}
	p := newTestProcessor(&memSink{}, dl, 1000)
	p.chain = namedChain(stages.Chain{plainFail{}, toDoc{}})
	p.shardID = "shardId-7"
	p.ProcessRecords(context.Background(), recs("az"), &memCP{}, 0)
	if len(dl.got) != 1 {
		t.Fatalf("dead letters %+v", dl.got)
	}
	d := dl.got[0]
	if d.Stage != "decode" || d.Shard != "shardId-7" || d.Sequence != "1" || d.Ordinal != 2 || string(d.Raw) != "z" || !strings.Contains(d.Reason, "log_pattern") {
		t.Errorf("dead letter %+v", d)
	}
}
