package consumer

import (
	"context"
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
