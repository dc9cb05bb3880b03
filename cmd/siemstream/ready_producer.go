package main

import (
	"context"

	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// Readiness checks of the producer (and backfill/redrive): each makes one
// cheap call that proves the dependency answers and this process may use it.
// Kept apart from the consumer's so the deployment's action-coverage test
// can tell which fleet's role must grant them.

func checkQueue(c *sqs.Client, url string) func(context.Context) error {
	return func(ctx context.Context) error {
		_, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: &url,
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages}})
		return err
	}
}

func checkStream(c *kinesis.Client, stream string) func(context.Context) error {
	return func(ctx context.Context) error {
		_, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: &stream})
		return err
	}
}
