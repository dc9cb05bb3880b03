package main

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/rs/zerolog"

	"github.com/siemstream/siemstream/consumer/lease/dynamo"
	"github.com/siemstream/siemstream/consumer/sink"
)

// Readiness checks of the consumer (and replay): one cheap call each. The
// OpenSearch one is the sink's own Health (consumer/sink).

// closeSink closes the sink once the command's run is over (deferred, so
// after the last Write); a failure is logged, the run's own error stands.
func closeSink(s sink.Sink, log zerolog.Logger) {
	if err := s.Close(); err != nil {
		log.Warn().Err(err).Msg("closing the sink")
	}
}

func checkLeaseTable(awsCfg aws.Config, dc dynamo.Config) func(context.Context) error {
	db := dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) {
		if dc.DynamoDBEndpoint != "" {
			o.BaseEndpoint = aws.String(dc.DynamoDBEndpoint)
		}
	})
	table := dc.TableName
	if table == "" {
		table = dc.ApplicationName
	}
	return func(ctx context.Context) error {
		_, err := db.Scan(ctx, &dynamodb.ScanInput{TableName: &table, Limit: aws.Int32(1)})
		if err != nil {
			return fmt.Errorf("lease table %s: %w", table, err)
		}
		return nil
	}
}
