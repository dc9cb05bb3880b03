package metrics

import (
	"context"
	"errors"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
)

// AWSMiddleware returns an API option for aws.Config.APIOptions that counts
// every AWS call by operation and outcome, PutRecords entries by outcome and
// per shard, GetRecords calls, and beats h's loops: "producer" on each SQS
// call and PutRecords, "consumer" on each DynamoDB call and GetRecords. It runs
// in the initialize step, so it sees each call once, after the SDK's own
// retries, and reads the typed input and output without touching the wire.
func (m *Metrics) AWSMiddleware(h *Health) func(*middleware.Stack) error {
	return func(st *middleware.Stack) error {
		return st.Initialize.Add(middleware.InitializeMiddlewareFunc("siemstreamMetrics",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				out, md, err := next.HandleInitialize(ctx, in)
				m.observeAWS(ctx, h, in.Parameters, out.Result, err)
				return out, md, err
			}), middleware.After)
	}
}

func (m *Metrics) observeAWS(ctx context.Context, h *Health, params, result any, err error) {
	svc, op := awsmiddleware.GetServiceID(ctx), awsmiddleware.GetOperationName(ctx)
	outcome := "ok"
	if err != nil {
		outcome = "error"
		if isThrottle(err) {
			outcome = "throttled"
		}
	}
	m.awsRequests.WithLabelValues(svc+"."+op, outcome).Inc()
	switch {
	case svc == "SQS":
		// ReceiveMessage when idle, ChangeMessageVisibility every half
		// timeout while a long object streams (then the receive loop
		// waits for a free worker), DeleteMessage when one is done.
		h.Beat("producer")
	case svc == "DynamoDB":
		h.Beat("consumer")
	case svc == "Kinesis" && op == "GetRecords":
		h.Beat("consumer")
		m.getRecords.WithLabelValues(outcome).Inc()
	case svc == "Kinesis" && op == "PutRecords":
		h.Beat("producer")
		m.observePut(params, result, outcome)
	}
}

func (m *Metrics) observePut(params, result any, outcome string) {
	in, _ := params.(*kinesis.PutRecordsInput)
	if in == nil {
		return
	}
	out, _ := result.(*kinesis.PutRecordsOutput)
	if outcome != "ok" || out == nil {
		m.putRequests.WithLabelValues(outcome).Inc()
		if outcome == "throttled" {
			m.putEntries.WithLabelValues("throttled").Add(float64(len(in.Records)))
		} else {
			m.putEntries.WithLabelValues("failed").Add(float64(len(in.Records)))
		}
		return
	}
	var accepted, throttled, failed int
	for i, r := range out.Records {
		if r.ErrorCode != nil {
			if *r.ErrorCode == "ProvisionedThroughputExceededException" {
				throttled++
			} else {
				failed++
			}
			continue
		}
		accepted++
		if r.ShardId != nil && i < len(in.Records) {
			m.shardRecordsOut.WithLabelValues(*r.ShardId).Inc()
			m.shardBytesOut.WithLabelValues(*r.ShardId).Add(float64(len(in.Records[i].Data)))
		}
	}
	if throttled+failed > 0 {
		m.putRequests.WithLabelValues("partial").Inc()
	} else {
		m.putRequests.WithLabelValues("ok").Inc()
	}
	for _, v := range []struct {
		l string
		n int
	}{{"accepted", accepted}, {"throttled", throttled}, {"failed", failed}} {
		if v.n > 0 {
			m.putEntries.WithLabelValues(v.l).Add(float64(v.n))
		}
	}
}

func isThrottle(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.ErrorCode() {
	case "ThrottlingException", "Throttling", "ProvisionedThroughputExceededException", "RequestLimitExceeded",
		"TooManyRequestsException", "LimitExceededException", "KMSThrottlingException", "RequestThrottled", "SlowDown":
		return true
	}
	return false
}
