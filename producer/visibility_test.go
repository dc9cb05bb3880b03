package producer_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/siemstream/siemstream/internal/e2e"
	"github.com/siemstream/siemstream/producer"
)

// TestKeepInvisible on the local stack's SQS: while extended, a received
// message stays invisible past its visibility timeout; once stopped, it is
// received again after the timeout.
func TestKeepInvisible(t *testing.T) {
	s := e2e.AWSOrSkip(t)
	ctx := t.Context()
	name := e2e.NewName("keepinvisible")
	q, err := s.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: &name, Attributes: map[string]string{"VisibilityTimeout": "2"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = s.SQS.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: q.QueueUrl}) })
	if _, err := s.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String("m")}); err != nil {
		t.Fatal(err)
	}
	receive := func() int {
		o, err := s.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 1})
		if err != nil {
			t.Fatal(err)
		}
		return len(o.Messages)
	}
	o, err := s.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 1})
	if err != nil || len(o.Messages) != 1 {
		t.Fatalf("receive: %v (%d messages)", err, len(o.Messages))
	}
	start := time.Now()
	var ok, failed atomic.Int32
	stop := producer.KeepInvisible(ctx, s.SQS, *q.QueueUrl, o.Messages[0].ReceiptHandle, 2*time.Second, func(err error) {
		if err != nil {
			failed.Add(1)
			t.Errorf("extend: %v", err)
			return
		}
		ok.Add(1)
	})
	// Three extensions (3 s) outlast the 2 s timeout; the message must not
	// come back meanwhile.
	err = e2e.WaitFor(ctx, 10*time.Second, func() (bool, error) {
		if n := receive(); n != 0 {
			t.Fatalf("message visible again %s after receipt while extended", time.Since(start))
		}
		return ok.Load() >= 3, nil
	})
	stop()
	if err != nil {
		t.Fatalf("%d extensions, %d failed: %v", ok.Load(), failed.Load(), err)
	}
	if err := e2e.WaitFor(ctx, 10*time.Second, func() (bool, error) { return receive() == 1, nil }); err != nil {
		t.Fatalf("message not visible again after stop: %v", err)
	}
}
