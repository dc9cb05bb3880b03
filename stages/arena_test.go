package stages

import (
	"testing"

	"github.com/siemstream/siemstream/internal/wire"
)

// TestArenaEnvelopes: envelopes handed out stay put while more are taken
// (Event.Env points into the slabs), and Reset zeroes the used ones so no
// record buffer stays pinned.
func TestArenaEnvelopes(t *testing.T) {
	var a Arena
	raw := []byte("x")
	var got []*wire.Envelope
	for i := range 3*envSlab + 1 {
		e := a.Envelope()
		if e.Via != wire.ViaNone || e.Off != 0 || e.Message != nil || e.CWL.ID != nil || e.EventBridge.Set {
			t.Fatalf("envelope %d not zero", i)
		}
		e.Off, e.Message = i, raw
		got = append(got, e)
	}
	for i, e := range got {
		if e.Off != i {
			t.Fatalf("envelope %d moved or was reused: off %d", i, e.Off)
		}
	}
	a.Reset()
	for i, e := range got {
		if e.Message != nil {
			t.Fatalf("envelope %d not cleared by Reset", i)
		}
	}
	if a.Envelope() != got[0] || len(a.envs) != 4 {
		t.Fatal("slabs not reused after Reset")
	}
	var b Batch
	if e := b.NewEnvelope(); e == nil {
		t.Fatal("no envelope without an arena")
	}
}
