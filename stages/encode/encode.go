// Package encode is the last stage before the sink: it serialises each
// event's document (Event.Doc) into Event.Out, the _source of the bulk
// action, applying es-loader's del_none and its 32766-byte truncation rule
// (see doc.Doc.Encode).
//
// Consumes: events in status Keep with a Doc (built by decode/normalize and
// enriched by geoip/ioc). Produces: Event.Out, compact JSON in the Doc's own
// reused buffer: it stays valid until the batch is reset (Batch.Reset returns
// the Docs to their pool), like Event.Raw. Fields are written in insertion
// order. The stage has no configuration; Stats counts truncated documents.
package encode

import (
	"context"
	"sync/atomic"

	"github.com/siemstream/siemstream/stages"
)

// Stage is the encode stage.
type Stage struct {
	encoded, truncated atomic.Uint64
}

// Stats counts encoded documents and documents whose big strings were cut.
type Stats struct{ Encoded, Truncated uint64 }

// New returns the encode stage.
func New() stages.Stage { return &Stage{} }

// Name is "encode".
func (s *Stage) Name() string { return "encode" }

// Stats returns the counters.
func (s *Stage) Stats() Stats { return Stats{s.encoded.Load(), s.truncated.Load()} }

// Process serialises every Keep event that has a Doc.
func (s *Stage) Process(ctx context.Context, b *stages.Batch) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var n, t uint64
	for i := range b.Events {
		e := &b.Events[i]
		if e.Status != stages.Keep || e.Doc == nil {
			continue
		}
		out, truncated := e.Doc.Encode()
		e.Out = out
		n++
		if truncated {
			t++
		}
	}
	s.encoded.Add(n)
	s.truncated.Add(t)
	return nil
}
