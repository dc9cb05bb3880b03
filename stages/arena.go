package stages

import "github.com/siemstream/siemstream/internal/wire"

// Arena holds the serialised documents (Event.Out) of a batch in a few large
// chunks, so that the encode stage can give each Doc back to the pool as
// soon as it is encoded. The next events then reuse the same few Docs, still
// in cache, instead of each event of a 5000-event batch touching a Doc of
// its own (tens of MiB: every first write to a node was a cache miss).
// Chain.Process gives a batch one; Batch.Reset empties it, keeping its
// chunks.
//
// It also holds the batch's record envelopes (Event.Env), so that the few
// wrapped records (CloudWatch Logs, FireLens, EventBridge) do not make
// every Event larger: an Event carries a pointer into these slabs.
type Arena struct {
	chunks [][]byte
	cur    int
	free   []byte // what Free handed out last

	envs []*[envSlab]wire.Envelope // slabs never move, so pointers stay valid
	nenv int

	marks  []*[envSlab]PlanMarks // Event.Marks, likewise
	nmarks int

	flats []*[envSlab]Flat // Event.Flat, likewise (flat.go)
	nflat int
	offs  [][]uint16 // their offsets, in chunks that never move
	ocur  int
}

const envSlab = 64

const (
	arenaFirstChunk = 64 << 10
	arenaMaxChunk   = 1 << 20
	// arenaMinFree: Free moves to the next chunk below this; a document
	// larger than what is left is appended elsewhere (Keep takes it as is).
	arenaMinFree = 16 << 10
)

// Free returns an empty slice to append one document to.
func (a *Arena) Free() []byte {
	if len(a.chunks) == 0 {
		a.chunks = append(a.chunks, make([]byte, 0, arenaFirstChunk))
	}
	c := a.chunks[a.cur]
	if cap(c)-len(c) < arenaMinFree {
		a.cur++
		if a.cur == len(a.chunks) {
			a.chunks = append(a.chunks, make([]byte, 0, min(2*cap(c), arenaMaxChunk)))
		}
		c = a.chunks[a.cur]
	}
	a.free = c[len(c):]
	return a.free
}

// Keep takes out, the document appended to what Free returned, and returns
// it capped so that appending to it cannot overwrite the next document.
func (a *Arena) Keep(out []byte) []byte {
	if len(out) > 0 && cap(a.free) > 0 && &out[:1][0] == &a.free[:1][0] && cap(out) == cap(a.free) {
		c := a.chunks[a.cur]
		a.chunks[a.cur] = c[:len(c)+len(out)]
	}
	a.free = nil
	return out[:len(out):len(out)]
}

// Envelope returns a zero envelope that lives until Reset.
func (a *Arena) Envelope() *wire.Envelope {
	s := a.nenv / envSlab
	if s == len(a.envs) {
		a.envs = append(a.envs, new([envSlab]wire.Envelope))
	}
	e := &a.envs[s][a.nenv%envSlab]
	a.nenv++
	return e
}

// Marks returns zero plan marks that live until Reset.
func (a *Arena) Marks() *PlanMarks {
	s := a.nmarks / envSlab
	if s == len(a.marks) {
		a.marks = append(a.marks, new([envSlab]PlanMarks))
	}
	m := &a.marks[s][a.nmarks%envSlab]
	a.nmarks++
	*m = PlanMarks{}
	return m
}

// Reset forgets every document and envelope, keeping the chunks and slabs.
// Used envelopes are zeroed so they pin no record buffer.
func (a *Arena) Reset() {
	for i := range a.chunks {
		a.chunks[i] = a.chunks[i][:0]
	}
	a.cur, a.free = 0, nil
	for i := range a.nenv {
		a.envs[i/envSlab][i%envSlab] = wire.Envelope{}
	}
	a.nenv = 0
	a.nmarks = 0 // Marks zeroes what it hands out
	a.resetFlats()
}

// NewEnvelope returns a zero envelope for an event of the batch: from the
// batch's Arena, or allocated when the batch has none.
func (b *Batch) NewEnvelope() *wire.Envelope {
	if b.Arena == nil {
		return new(wire.Envelope)
	}
	return b.Arena.Envelope()
}
