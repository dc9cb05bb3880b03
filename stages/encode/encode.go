// Package encode is the last stage before the sink: it serialises each
// event's document (Event.Doc) into Event.Out, the _source of the bulk
// action, applying es-loader's del_none and its 32766-byte truncation rule
// (see doc.Doc.Encode).
//
// Consumes: events in status Keep with a Doc (built by decode/normalize and
// enriched by geoip/ioc). Produces: Event.Out, compact JSON in the batch's
// Arena (then the Doc goes back to its pool at once and Event.Doc is nil) or,
// for a batch without one, in the Doc's own reused buffer: either stays valid
// until the batch is reset, like Event.Raw. Fields are written in insertion
// order. An event normalize already wrote with an output plan (Doc nil, Out
// set) is left as it is and counted as encoded. The stage has no
// configuration; Stats counts truncated documents.
package encode

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/siemstream/siemstream/internal/doc"
	"github.com/siemstream/siemstream/stages"
)

// Stage is the encode stage.
type Stage struct {
	encoded, truncated atomic.Uint64
}

// Stats counts encoded documents and documents whose big strings were cut.
type Stats struct{ Encoded, Truncated uint64 }

// Config configures the encode stage. It has no settings: del_none and the
// truncation limit are es-loader's and fixed.
type Config struct{}

// DefaultConfig returns the (empty) defaults.
func DefaultConfig() Config { return Config{} }

// Validate checks the configuration (there is nothing to check).
func (c Config) Validate() error { return nil }

// New returns the encode stage. It uses none of deps.
func New(cfg Config, _ stages.Deps) (*Stage, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	return &Stage{}, nil
}

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
		if e.Status != stages.Keep {
			continue
		}
		if e.Doc == nil {
			if e.Out != nil {
				n++ // written by normalize's output plan
			}
			continue
		}
		var truncated bool
		if b.Arena != nil {
			// Into the batch's arena; the Doc goes back to the pool now,
			// so the next events reuse it while it is in cache.
			var out []byte
			out, truncated = e.Doc.AppendEncode(b.Arena.Free())
			e.Out = b.Arena.Keep(out)
			doc.Put(e.Doc)
			e.Doc = nil
		} else {
			e.Out, truncated = e.Doc.Encode()
		}
		n++
		if truncated {
			t++
		}
	}
	s.encoded.Add(n)
	s.truncated.Add(t)
	return nil
}
