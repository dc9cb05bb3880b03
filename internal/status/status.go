// Package status is the one vocabulary for what became of a record on its
// way from the producer to the sink. Stages set it on stages.Event, the sink
// on sink.Result, and the counters and dead letters are named after it, so
// "excluded" or "rejected" means the same thing in every package.
package status

import "fmt"

// Status is what became of one record (or its document).
type Status uint8

const (
	// Kept: the record goes on (to the next stage, then to the sink). It is
	// the zero value: a new event is kept, and a sink result not written
	// yet has no final status.
	Kept Status = iota
	// Excluded: removed on purpose by an exclusion rule and counted; not an
	// error. (A COUNT condition only counts: its record stays Kept.)
	Excluded
	// Failed: the record is bad; it is quarantined with its bytes and
	// reason, and the rest of its batch goes on.
	Failed
	// Delivered: the document is durable in the target.
	Delivered
	// Retried: a transient failure (429, 5xx, connection): written again.
	Retried
	// Rejected: the target refused the document for a reason a retry cannot
	// fix (mapping conflict, too large): it is dead-lettered.
	Rejected
)

var names = [...]string{Kept: "kept", Excluded: "excluded", Failed: "failed", Delivered: "delivered", Retried: "retried", Rejected: "rejected"}

func (s Status) String() string {
	if int(s) < len(names) {
		return names[s]
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// Final reports whether nothing more will happen to the document: the sink
// delivered or rejected it. Anything else is written again.
func (s Status) Final() bool { return s == Delivered || s == Rejected }
