package encode

import (
	"context"
	"testing"

	"github.com/siemstream/siemstream/internal/doc"
	"github.com/siemstream/siemstream/stages"
)

func TestEncode(t *testing.T) {
	d := doc.Get()
	if err := d.ParseObject([]byte(`{"a":"-","b":{"c":""},"k":"v","n":1.5}`)); err != nil {
		t.Fatal(err)
	}
	failed := doc.Get()
	b := &stages.Batch{Events: []stages.Event{{Doc: d}, {Doc: failed, Status: stages.Failed}, {}}}
	s, err := New(DefaultConfig(), stages.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if got := string(b.Events[0].Out); got != `{"k":"v","n":1.5}` {
		t.Errorf("Out = %s", got)
	}
	if b.Events[1].Out != nil || b.Events[2].Out != nil {
		t.Error("failed or doc-less events must not be encoded")
	}
	if st := s.Stats(); st.Encoded != 1 {
		t.Errorf("stats %+v", st)
	}
	b.Reset() // returns the docs to the pool
	if len(b.Events) != 0 {
		t.Error("reset")
	}
}
