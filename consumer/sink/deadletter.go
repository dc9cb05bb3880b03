package sink

import (
	"context"
	"fmt"

	"github.com/siemstream/siemstream/internal/deadletter"
)

// DeadLetter is a record or document that cannot be loaded, kept with why
// and its exact bytes (the one record type of internal/deadletter).
type DeadLetter = deadletter.Record

// DeadLetters stores dead letters durably. The consumer is given one (see
// consumer.WithDeadLetters); IndexDeadLetters is the default.
type DeadLetters interface {
	Put(ctx context.Context, dls []DeadLetter) error
}

// DefaultMaxInlineRaw is the largest raw record kept inside a dead-letter
// document when a RawBucket is configured; longer ones go to S3 and the
// document points to them. (A bulk request carries at most --bulk-bytes.)
const DefaultMaxInlineRaw = 1 << 20

// IndexDeadLetters writes dead letters to a monthly OpenSearch index
// (<Prefix>-YYYY.MM), one document each, with an _id derived from where the
// record came from so a replay does not duplicate them. Raw bytes are kept
// exactly (text or base64), never truncated.
type IndexDeadLetters struct {
	Sink   Sink
	Prefix string
	Policy RetryPolicy
	// RawS3, RawBucket and RawPrefix say where raw bytes longer than
	// MaxInlineRaw go (<RawPrefix>consumer/<dead-letter id>.raw); with no
	// RawS3 they stay inline whatever their size.
	RawS3     deadletter.Putter
	RawBucket string
	RawPrefix string
	// MaxInlineRaw: 0 means DefaultMaxInlineRaw.
	MaxInlineRaw int
}

// Put writes dls; it returns once all are durable or rejected (an error
// then names how many the index refused).
func (d *IndexDeadLetters) Put(ctx context.Context, dls []DeadLetter) error {
	if len(dls) == 0 {
		return nil
	}
	prefix := d.Prefix
	if prefix == "" {
		prefix = "siemstream-deadletter"
	}
	inline := d.MaxInlineRaw
	if inline <= 0 {
		inline = DefaultMaxInlineRaw
	}
	docs := make([]Doc, len(dls))
	for i := range dls {
		dl := dls[i]
		if d.RawS3 != nil && len(dl.Raw) > inline {
			ref, err := deadletter.PutRaw(ctx, d.RawS3, d.RawBucket, d.RawPrefix, &dl, dl.Raw)
			if err != nil {
				return fmt.Errorf("dead letters: %w", err)
			}
			dl.RawSize, dl.RawSHA256, dl.RawRef, dl.Raw = int64(len(dl.Raw)), deadletter.SHA256(dl.Raw), ref, nil
		}
		body, err := DeadLetterJSON(&dl)
		if err != nil {
			return err
		}
		docs[i] = Doc{
			Index: prefix + "-" + dl.Time.UTC().Format("2006.01"),
			ID:    DeadLetterID(&dl),
			Body:  body,
		}
	}
	res := make([]Result, len(docs))
	st, err := Deliver(ctx, d.Sink, docs, res, d.Policy)
	if err != nil {
		return fmt.Errorf("dead letters: %w", err)
	}
	if st.Rejected > 0 {
		for i := range res {
			if res[i].Outcome == Rejected {
				return fmt.Errorf("dead letters: %d of %d refused by the index, first: %s", st.Rejected, len(dls), res[i].Reason)
			}
		}
	}
	return nil
}

// DeadLetterID is stable for one record of one object at one stage.
func DeadLetterID(dl *DeadLetter) string { return dl.DocID() }

// DeadLetterJSON renders a dead letter as a document (deadletter.Record's
// JSON: raw bytes exactly, as text when UTF-8, else base64).
func DeadLetterJSON(dl *DeadLetter) ([]byte, error) {
	b, err := dl.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("dead letter %s: %w", dl.Where(), err)
	}
	return b, nil
}
