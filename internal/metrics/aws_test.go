package metrics

import (
	"context"
	"strings"
	"testing"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func awsCtx(svc, op string) context.Context {
	ctx := awsmiddleware.SetServiceID(context.Background(), svc)
	return awsmiddleware.SetOperationName(ctx, op)
}

// TestPutRecordsAccounting: entries by outcome and accepted records and
// bytes per shard come from the typed PutRecords input and output.
func TestPutRecordsAccounting(t *testing.T) {
	m := New(Build{})
	h := NewHealth()
	h.Loop("producer", 1)
	in := &kinesis.PutRecordsInput{Records: []ktypes.PutRecordsRequestEntry{{Data: make([]byte, 10)}, {Data: make([]byte, 20)}, {Data: make([]byte, 30)}}}
	code := "ProvisionedThroughputExceededException"
	other := "InternalFailure"
	out := &kinesis.PutRecordsOutput{Records: []ktypes.PutRecordsResultEntry{{ShardId: ptr("shardId-1")}, {ErrorCode: &code}, {ErrorCode: &other}}}
	m.observeAWS(awsCtx("Kinesis", "PutRecords"), h, in, out, nil)
	m.observeAWS(awsCtx("Kinesis", "PutRecords"), h, in, nil, &smithy.GenericAPIError{Code: "ProvisionedThroughputExceededException"})
	for _, c := range []struct {
		got  float64
		want float64
		what string
	}{
		{value(m.putEntries.WithLabelValues("accepted")), 1, "accepted"},
		{value(m.putEntries.WithLabelValues("throttled")), 1 + 3, "throttled"},
		{value(m.putEntries.WithLabelValues("failed")), 1, "failed"},
		{value(m.putRequests.WithLabelValues("partial")), 1, "partial requests"},
		{value(m.putRequests.WithLabelValues("throttled")), 1, "throttled requests"},
		{value(m.shardRecordsOut.WithLabelValues("shardId-1")), 1, "records on shard 1"},
		{value(m.shardBytesOut.WithLabelValues("shardId-1")), 10, "bytes on shard 1"},
		{value(m.awsRequests.WithLabelValues("Kinesis.PutRecords", "throttled")), 1, "aws throttled"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
}

// TestAWSMiddlewareOnStack: the option installs on a real operation stack
// and beats the loops of SQS ReceiveMessage.
func TestAWSMiddlewareOnStack(t *testing.T) {
	m := New(Build{})
	st := middleware.NewStack("test", nil)
	if err := m.AWSMiddleware(nil)(st); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(st.String(), "siemstreamMetrics") {
		t.Errorf("middleware not on the stack:\n%s", st.String())
	}
	m.observeAWS(awsCtx("DynamoDB", "Scan"), nil, nil, nil, &smithy.GenericAPIError{Code: "ResourceNotFoundException"})
	if got := value(m.awsRequests.WithLabelValues("DynamoDB.Scan", "error")); got != 1 {
		t.Errorf("DynamoDB.Scan errors = %v", got)
	}
}

func ptr(s string) *string { return &s }

// value reads a counter or gauge.
func value(m prometheus.Metric) float64 {
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		return -1
	}
	if d.Counter != nil {
		return d.Counter.GetValue()
	}
	return d.Gauge.GetValue()
}
