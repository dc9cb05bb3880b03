// Package sink makes documents durable and says, per document, what
// happened: delivered, failed transiently (retry it), or rejected for good
// (dead-letter it). The consumer checkpoints only past records whose
// documents are all delivered or dead-lettered.
package sink

import (
	"context"

	"github.com/siemstream/siemstream/internal/status"
)

// Doc is one bulk action: target index, _id and the _source bytes.
type Doc struct {
	Index string
	ID    string
	Body  []byte
}

// Outcome is the result of writing one document, in the vocabulary of
// internal/status that the stages use too. The zero value (status.Kept)
// means not written yet; a Write sets one of the three below.
type Outcome = status.Status

// The outcomes of a write.
const (
	// Delivered: durable in the target.
	Delivered = status.Delivered
	// Retry: a transient failure (429, 5xx, connection): write it again.
	Retry = status.Retried
	// Rejected: the target refused it for a reason a retry cannot fix
	// (mapping conflict, too large): dead-letter it.
	Rejected = status.Rejected
)

// Result is what happened to one document.
type Result struct {
	Outcome Outcome
	// Status is the HTTP status of the item (0 when the request failed whole).
	Status int
	// Reason is the target's error type and reason, for dead letters and logs.
	Reason string
	// Overwrote is true when the write replaced an existing document with the
	// same _id (a duplicate delivery made harmless by deterministic ids).
	Overwrote bool
}

// Sink writes batches of documents. Its lifecycle:
//
//  1. Built by a constructor (NewOpenSearch, NewSuffix, a wrapper such as
//     metrics.Sink): it contacts nothing yet.
//  2. Health may be called at any time, concurrently with Writes (the
//     readiness check of the consumer and replay calls it periodically).
//  3. Write is called by any number of goroutines at once (every shard
//     processor, the dead-letter store) until the owner stops.
//  4. Close is called once by whoever built the sink, after the last Write
//     returned (the consumer and replay commands, when their run ends).
//     Nothing may be called after it.
//
// A wrapper forwards Health and Close to the sink it wraps.
type Sink interface {
	// Write tries every doc once and fills results[i] for docs[i]
	// (len(results) == len(docs)). A returned error means the request as a
	// whole failed; then every result is Retry.
	Write(ctx context.Context, docs []Doc, results []Result) error
	// Health makes one cheap call to the target and says whether it
	// answers (nil) or why not. It writes nothing.
	Health(ctx context.Context) error
	// Close releases what the sink holds of its own. It does not close
	// what it was given (a shared client stays usable by its owner).
	Close() error
}
