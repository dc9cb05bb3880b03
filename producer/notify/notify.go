// Package notify reads the S3 "object created" notifications the producer
// receives through SQS: S3 event notifications sent directly, wrapped in an
// SNS envelope (raw delivery or not), or as EventBridge "Object Created"
// events (Amazon Security Lake subscriber queues receive these, with or
// without "detail-type"). It returns the objects to load; test events and non-create events
// yield none.
package notify

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Object is one S3 object to load.
type Object struct {
	Bucket string
	// Key is decoded (S3 notifications form-encode it: '+' is a space).
	Key       string
	Size      int64
	ETag      string
	EventName string
	// Account is the AWS account the notification names (EventBridge
	// events and Security Lake subscriber notifications carry one); "" when
	// the notification has none.
	Account string
}

type s3Entity struct {
	Bucket struct {
		Name string `json:"name"`
	} `json:"bucket"`
	Object struct {
		Key  string `json:"key"`
		Size int64  `json:"size"`
		ETag string `json:"eTag"`
	} `json:"object"`
}

type message struct {
	// S3 event notification (and the Lambda-style SNS record list).
	Records []struct {
		EventSource string   `json:"eventSource"`
		EventName   string   `json:"eventName"`
		S3          s3Entity `json:"s3"`
		// Lambda-style SNS record: {"EventSource":"aws:sns","Sns":{"Message":...}}
		EventSourceSNS string `json:"EventSource"`
		Sns            struct {
			Message string `json:"Message"`
		} `json:"Sns"`
	} `json:"Records"`
	// s3:TestEvent
	Event string `json:"Event"`
	// SNS envelope
	Type    string `json:"Type"`
	Message string `json:"Message"`
	// EventBridge
	Source     string `json:"source"`
	DetailType string `json:"detail-type"`
	Account    string `json:"account"`
	Detail     struct {
		Bucket struct {
			Name string `json:"name"`
		} `json:"bucket"`
		Object struct {
			Key  string `json:"key"`
			Size int64  `json:"size"`
			ETag string `json:"etag"`
		} `json:"object"`
		Reason string `json:"reason"`
	} `json:"detail"`
}

// ErrNotNotification is returned for a body that is JSON but none of the
// known notification shapes.
var ErrNotNotification = errors.New("not an S3 notification (expected S3 event, SNS envelope or EventBridge Object Created)")

// Parse returns the objects a message body announces.
func Parse(body []byte) ([]Object, error) {
	return parse(body, 0)
}

func parse(body []byte, depth int) ([]Object, error) {
	if depth > 3 {
		return nil, errors.New("notification nested too deeply")
	}
	var m message
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("notification is not JSON: %w", err)
	}
	switch {
	case m.Event == "s3:TestEvent":
		return nil, nil
	case m.Type == "Notification" && m.Message != "":
		objs, err := parse([]byte(m.Message), depth+1)
		if err != nil {
			return nil, fmt.Errorf("sns message: %w", err)
		}
		return objs, nil
	case m.Source == "aws.s3":
		// A Security Lake subscriber queue receives the event without
		// "detail-type" (the documented subscriber notification has source,
		// time, account, region, resources and detail only); es-loader takes
		// any SQS body with a detail.bucket/detail.object, so a missing
		// detail-type is an object created too.
		if m.DetailType != "Object Created" && m.DetailType != "" {
			return nil, nil
		}
		if m.Detail.Bucket.Name == "" || m.Detail.Object.Key == "" {
			return nil, errors.New("eventbridge Object Created event without bucket or key")
		}
		event := "ObjectCreated"
		if m.Detail.Reason != "" {
			event += ":" + m.Detail.Reason
		}
		// EventBridge does not encode keys.
		return []Object{{
			Bucket: m.Detail.Bucket.Name, Key: m.Detail.Object.Key,
			Size: m.Detail.Object.Size, ETag: m.Detail.Object.ETag, EventName: event,
			Account: m.Account,
		}}, nil
	case m.Records != nil:
		var out []Object
		for i, r := range m.Records {
			if r.EventSourceSNS == "aws:sns" {
				objs, err := parse([]byte(r.Sns.Message), depth+1)
				if err != nil {
					return nil, fmt.Errorf("record %d: sns message: %w", i, err)
				}
				out = append(out, objs...)
				continue
			}
			if r.EventSource != "aws:s3" || !strings.HasPrefix(r.EventName, "ObjectCreated") {
				continue
			}
			key, err := url.QueryUnescape(r.S3.Object.Key)
			if err != nil {
				return nil, fmt.Errorf("record %d: key %q: %w", i, r.S3.Object.Key, err)
			}
			if r.S3.Bucket.Name == "" || key == "" {
				return nil, fmt.Errorf("record %d: no bucket or key", i)
			}
			out = append(out, Object{Bucket: r.S3.Bucket.Name, Key: key, Size: r.S3.Object.Size, ETag: r.S3.Object.ETag, EventName: r.EventName})
		}
		return out, nil
	}
	return nil, ErrNotNotification
}
