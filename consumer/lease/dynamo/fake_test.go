package dynamo

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// recordingDB records the last PutItem; other calls are not used by the
// unit tests that use it.
type recordingDB struct {
	DynamoDBAPI
	lastPut map[string]types.AttributeValue
}

func (r *recordingDB) PutItem(_ context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	r.lastPut = in.Item
	return &dynamodb.PutItemOutput{}, nil
}
