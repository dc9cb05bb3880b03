package pack

import (
	"fmt"

	"github.com/siemstream/siemstream/internal/wire"
)

// Batcher groups entries into PutRecords requests of at most MaxEntries
// entries and MaxBytes bytes (Data + partition key, as Kinesis counts).
// It does no I/O and has no timer: the caller flushes on its own schedule.
// Not safe for concurrent use.
type Batcher struct {
	maxEntries, maxBytes int
	entries              []Entry
	bytes                int
}

// NewBatcher returns a Batcher; 0 means the Kinesis limits (500 entries,
// 5 MiB).
func NewBatcher(maxEntries, maxBytes int) (*Batcher, error) {
	if maxEntries == 0 {
		maxEntries = wire.MaxPutRecordsEntries
	}
	if maxBytes == 0 {
		maxBytes = wire.MaxPutRecordsBytes
	}
	if maxEntries < 1 || maxEntries > wire.MaxPutRecordsEntries {
		return nil, fmt.Errorf("pack: batch max entries %d outside 1..%d", maxEntries, wire.MaxPutRecordsEntries)
	}
	if maxBytes < 1 || maxBytes > wire.MaxPutRecordsBytes {
		return nil, fmt.Errorf("pack: batch max bytes %d outside 1..%d", maxBytes, wire.MaxPutRecordsBytes)
	}
	return &Batcher{maxEntries: maxEntries, maxBytes: maxBytes}, nil
}

// Add adds e. If e does not fit in the current batch, the current batch is
// returned (ready to send; the caller owns it) and e starts the next one;
// otherwise Add returns nil. An entry larger than MaxBytes on its own is
// returned alone by the next Add or Flush (Kinesis will refuse it; Packer
// never makes one).
func (b *Batcher) Add(e Entry) (ready []Entry) {
	size := e.Size()
	if len(b.entries) > 0 && (len(b.entries)+1 > b.maxEntries || b.bytes+size > b.maxBytes) {
		ready = b.take()
	}
	b.entries = append(b.entries, e)
	b.bytes += size
	return ready
}

// Flush returns the current batch (nil if empty) and starts a new one.
func (b *Batcher) Flush() []Entry {
	if len(b.entries) == 0 {
		return nil
	}
	return b.take()
}

func (b *Batcher) take() []Entry {
	out := b.entries
	b.entries = make([]Entry, 0, min(cap(out), b.maxEntries))
	b.bytes = 0
	return out
}

// Len is the number of entries in the current batch.
func (b *Batcher) Len() int { return len(b.entries) }

// Bytes is the size of the current batch.
func (b *Batcher) Bytes() int { return b.bytes }
