package notify

import (
	"encoding/json"
	"errors"
	"testing"
)

const s3Event = `{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1","eventTime":"2026-11-23T06:39:36.923946","eventName":"ObjectCreated:Put","s3":{"s3SchemaVersion":"1.0","configurationId":"q1","bucket":{"name":"logs-in","arn":"arn:aws:s3:::logs-in"},"object":{"key":"AWSLogs%2F123%2Felb%2Fa+b%2Bc.log.gz","size":30,"eTag":"e1"}}}]}`

const securityLakeEvent = `{"version":"0","id":"2d4eba74-fd51-3966-4bfa-b013c9da8ff1","detail-type":"Object Created","source":"aws.s3","account":"444455556666","time":"2026-12-07T06:10:02Z","region":"us-east-1","resources":["arn:aws:s3:::aws-security-data-lake-us-east-1-o1b2c3d4e5f6"],"detail":{"version":"0","bucket":{"name":"aws-security-data-lake-us-east-1-o1b2c3d4e5f6"},"object":{"key":"aws/CLOUD_TRAIL_MGMT/2.0/region=us-east-1/accountId=111122223333/eventDay=20261207/5b1c2d3e4f5061728394a5b6c7d8e9f0.gz.parquet","size":48213,"etag":"7f0c5bd4e6a1d8f3b2c94e0a1f6d7c28","sequencer":"00657165C0E1A8B2F1"},"request-id":"N4N7GDK58NMKJ12R","requester":"securitylake.amazonaws.com","source-ip-address":"10.0.12.34","reason":"PutObject"}}`

const securityLakeDoc = `{"source":"aws.s3","time":"2026-12-07T00:00:00Z","account":"123456789012","region":"ca-central-1","resources":["arn:aws:s3:::aws-security-data-lake-ca-central-1-exbucket"],"detail":{"bucket":{"name":"aws-security-data-lake-ca-central-1-exbucket"},"object":{"key":"ext/SecurityLake/custom/app/region=ca-central-1/accountId=111122223333/eventDay=20261207/a.parquet","size":5,"etag":"b57f9512698f4b09e608f4f2a65852e5"},"request-id":"N4N7GDK58NMKJ12R","requester":"securitylake.amazonaws.com"}}`

func TestParse(t *testing.T) {
	sns, _ := json.Marshal(map[string]string{"Type": "Notification", "MessageId": "m", "Message": s3Event})
	lambdaSNS, _ := json.Marshal(map[string]any{"Records": []any{map[string]any{"EventSource": "aws:sns", "Sns": map[string]string{"Message": s3Event}}}})
	want := Object{Bucket: "logs-in", Key: "AWSLogs/123/elb/a b+c.log.gz", Size: 30, ETag: "e1", EventName: "ObjectCreated:Put"}
	cases := []struct {
		name string
		body string
		want []Object
		err  error
	}{
		{"s3", s3Event, []Object{want}, nil},
		{"sns", string(sns), []Object{want}, nil},
		{"lambda sns", string(lambdaSNS), []Object{want}, nil},
		{"eventbridge", `{"version":"0","id":"x","detail-type":"Object Created","source":"aws.s3","account":"123456789012","detail":{"version":"0","bucket":{"name":"logs-eb"},"object":{"key":"x/y z.gz","size":30,"etag":"e2"},"reason":"PutObject"}}`,
			[]Object{{Bucket: "logs-eb", Key: "x/y z.gz", Size: 30, ETag: "e2", EventName: "ObjectCreated:PutObject", Account: "123456789012"}}, nil},
		// What a Security Lake subscriber's SQS queue receives: the
		// EventBridge event as delivered by the rule Security Lake creates.
		{"security lake eventbridge", securityLakeEvent,
			[]Object{{Bucket: "aws-security-data-lake-us-east-1-o1b2c3d4e5f6", Key: "aws/CLOUD_TRAIL_MGMT/2.0/region=us-east-1/accountId=111122223333/eventDay=20261207/5b1c2d3e4f5061728394a5b6c7d8e9f0.gz.parquet",
				Size: 48213, ETag: "7f0c5bd4e6a1d8f3b2c94e0a1f6d7c28", EventName: "ObjectCreated:PutObject", Account: "444455556666"}}, nil},
		// The subscriber notification as the Security Lake user guide
		// shows it: no detail-type, id or version.
		{"security lake subscriber notification", securityLakeDoc,
			[]Object{{Bucket: "aws-security-data-lake-ca-central-1-exbucket", Key: "ext/SecurityLake/custom/app/region=ca-central-1/accountId=111122223333/eventDay=20261207/a.parquet",
				Size: 5, ETag: "b57f9512698f4b09e608f4f2a65852e5", EventName: "ObjectCreated", Account: "123456789012"}}, nil},
		{"eventbridge deleted", `{"detail-type":"Object Deleted","source":"aws.s3","detail":{}}`, nil, nil},
		{"test event", `{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-11-23T06:39:35.447355","Bucket":"logs-in"}`, nil, nil},
		{"removed", `{"Records":[{"eventSource":"aws:s3","eventName":"ObjectRemoved:Delete","s3":{"bucket":{"name":"b"},"object":{"key":"k"}}}]}`, nil, nil},
		{"other json", `{"hello":1}`, nil, ErrNotNotification},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Parse([]byte(c.body))
			if !errors.Is(err, c.err) {
				t.Fatalf("err %v, want %v", err, c.err)
			}
			if len(got) != len(c.want) {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Fatalf("got %+v, want %+v", got[i], c.want[i])
				}
			}
		})
	}
	if _, err := Parse([]byte("not json")); err == nil {
		t.Fatal("want error for non-JSON body")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(s3Event))
	f.Add([]byte(`{"Type":"Notification","Message":"{\"Records\":[]}"}`))
	f.Add([]byte(`{"source":"aws.s3","detail-type":"Object Created","detail":{"bucket":{"name":"b"},"object":{"key":"k"}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		objs, err := Parse(b)
		if err == nil {
			for _, o := range objs {
				if o.Bucket == "" || o.Key == "" {
					t.Fatalf("object without bucket/key: %+v", o)
				}
			}
		}
	})
}
