package main

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/opensearch-project/opensearch-go/v4"
	"github.com/siemstream/siemstream/consumer/lease/dynamo"
)

// Readiness checks of the consumer (and replay): one cheap call each.

func checkOpenSearch(c *opensearch.Client) func(context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "/", nil)
		if err != nil {
			return err
		}
		resp, err := c.Perform(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		if resp.StatusCode >= 300 {
			return fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		return nil
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
