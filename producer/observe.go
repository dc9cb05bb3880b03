package producer

import (
	"context"
	"time"

	"github.com/siemstream/siemstream/producer/notify"
)

// Observer is told what the producer does, for metrics and health checks
// (internal/metrics implements it). Calls come once per object, message or
// API call, never per record; implementations must be safe for concurrent
// use by every worker.
type Observer interface {
	// ObjectDone: LoadObject returned res and err after took.
	ObjectDone(o notify.Object, res ObjectResult, took time.Duration, err error)
	// MessagesInFlight moves the count of SQS messages being worked on.
	MessagesInFlight(delta int)
	// VisibilityExtended: a ChangeMessageVisibility call returned err.
	VisibilityExtended(err error)
}

type nopObserver struct{}

func (nopObserver) ObjectDone(notify.Object, ObjectResult, time.Duration, error) {}
func (nopObserver) MessagesInFlight(int)                                         {}
func (nopObserver) VisibilityExtended(error)                                     {}

func (p *Producer) observer() Observer {
	if p.cfg.Observer == nil {
		return nopObserver{}
	}
	return p.cfg.Observer
}

// LoadObject streams one object into the stream. A nil error means the
// object is done with (loaded, or deliberately skipped or quarantined): its
// notification may be deleted. An error means try again later.
func (p *Producer) LoadObject(ctx context.Context, o notify.Object) (ObjectResult, error) {
	start := time.Now()
	res, err := p.loadObject(ctx, o)
	p.observer().ObjectDone(o, res, time.Since(start), err)
	return res, err
}
