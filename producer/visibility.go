package producer

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// VisibilityAPI is the part of the SQS client KeepInvisible uses.
type VisibilityAPI interface {
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, opts ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
}

// KeepInvisible extends a received message's visibility to timeout every
// timeout/2 until the returned func is called (it waits for the extending
// goroutine to end), so a message whose work outlasts the queue's
// visibility timeout (a large object still streaming) is not handed to
// another worker. extended, when set, is told each extension's result
// while ctx is live (an extension cut short by stop is no failure). Used
// by the producer and by redrive.
func KeepInvisible(ctx context.Context, q VisibilityAPI, queueURL string, receipt *string, timeout time.Duration, extended func(error)) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(timeout / 2)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				_, err := q.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
					QueueUrl: &queueURL, ReceiptHandle: receipt, VisibilityTimeout: int32(timeout / time.Second),
				})
				if ctx.Err() == nil && extended != nil {
					extended(err)
				}
			}
		}
	}()
	return func() { cancel(); <-done }
}
