package normalize

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/siemstream/siemstream/schemas"
	"github.com/siemstream/siemstream/stages"
	"github.com/siemstream/siemstream/stages/decode"
	"github.com/siemstream/siemstream/stages/encode"
)

// mapECS reads each distinct record path once per document through the
// type's srcPlan. The documents must be byte for byte those of looking
// every alternative up again (slowECS).

func ecsRecords(t testing.TB) map[string][][]byte {
	out := msgRecords(t)
	for _, s := range []string{
		// source.ip/source.address/related.ip share sourceIPAddress
		`{"eventTime":"2025-03-14T12:00:00Z","eventID":"s1","sourceIPAddress":"not-an-ip","eventName":"X"}`,
		`{"eventTime":"2025-03-14T12:00:00Z","eventID":"s2","sourceIPAddress":"2001:db8::1","userIdentity":{"arn":"a","principalId":"p"}}`,
		`{"eventTime":"2025-03-14T12:00:00Z","eventID":"s3","sourceIPAddress":["1.2.3.4","x",""],"eventName":null}`,
		`{"eventTime":"2025-03-14T12:00:00Z","eventID":"s4","sourceIPAddress":{"a":1},"eventName":""}`,
		`{"eventTime":"2025-03-14T12:00:00Z","eventID":"s5","sourceIPAddress":12,"eventName":3.5,"errorCode":true}`,
		// cloud.instance.id's five alternatives
		`{"eventTime":"2025-03-14T12:00:00Z","eventID":"i1","requestParameters":{"instanceId":""},"responseElements":{"instancesSet":{"items":[{"instanceId":"i-1"}]}}}`,
		`{"eventTime":"2025-03-14T12:00:00Z","eventID":"i2","requestParameters":{"instancesSet":{"items":[{}, {"instanceId":"i-2"}]},"AssociateIamInstanceProfileRequest":{"InstanceId":"i-3"}}}`,
		`{"eventTime":"2025-03-14T12:00:00Z","eventID":"i3","requestParameters":"x","responseElements":[{"instancesSet":1}]}`,
		`{"eventTime":"2025-03-14T12:00:00Z","eventID":"i4","requestParameters":{"DescribeInstanceCreditSpecificationsRequest":{"InstanceId":{"content":"i-4"}},"instanceId":null}}`,
		`{"eventTime":"2025-03-14T12:00:00Z","eventID":"i5","requestParameters":{"instanceId":{"k":"v"}},"userIdentity":"flat"}`,
		`{"eventTime":"2025-03-14T12:00:00Z","eventID":"c1","cloud":{"account":{"id":""},"region":null},"recipientAccountId":"111122223333"}`,
		`{"eventTime":"2025-03-14T12:00:00Z","eventID":"c2","source":"s","user":{"name":"u"},"event":"e","related":{"ip":["9.9.9.9"]}}`,
	} {
		out["cloudtrail"] = append(out["cloudtrail"], []byte(s))
	}
	return out
}

func runECS(t testing.TB, reg *schemas.Registry, typ string, recs [][]byte, slow bool) []stages.Event {
	t.Helper()
	deps := stages.Deps{Registry: reg}
	dec, err := decode.New(decode.DefaultConfig(), deps)
	if err != nil {
		t.Fatal(err)
	}
	norm, err := New(Config{Now: func() time.Time { return time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC) }}, deps)
	if err != nil {
		t.Fatal(err)
	}
	norm.slowECS = slow
	enc, err := encode.New(encode.DefaultConfig(), deps)
	if err != nil {
		t.Fatal(err)
	}
	src := &stages.Source{LogType: typ, Bucket: "b", Key: "AWSLogs/123456789012/x/us-east-1/2025/03/14/x.json.gz"}
	b := &stages.Batch{}
	for i, r := range recs {
		b.Events = append(b.Events, stages.Event{Src: src, Ordinal: int64(i + 1), Raw: r})
	}
	for _, st := range []stages.Stage{dec, norm, enc} {
		if err := st.Process(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
	return b.Events
}

func compareECS(t testing.TB, reg *schemas.Registry, typ string, recs [][]byte) (kept int) {
	t.Helper()
	fast, slow := runECS(t, reg, typ, recs, false), runECS(t, reg, typ, recs, true)
	for i := range fast {
		f, s := &fast[i], &slow[i]
		if f.Status != s.Status || fmt.Sprint(f.Err) != fmt.Sprint(s.Err) || f.ID != s.ID || f.Index != s.Index || !bytes.Equal(f.Out, s.Out) {
			t.Fatalf("%s record %q:\n got %v %v %s %s %s\nwant %v %v %s %s %s", typ, recs[i], f.Status, f.Err, f.Index, f.ID, f.Out, s.Status, s.Err, s.Index, s.ID, s.Out)
		}
		if f.Status == stages.Keep {
			kept++
		}
	}
	return kept
}

func TestECSPlanEqualsLookups(t *testing.T) {
	reg, err := schemas.Load(schemas.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for typ, recs := range ecsRecords(t) {
		if kept := compareECS(t, reg, typ, recs); kept < len(recs)/2 {
			t.Fatalf("%s: only %d of %d records kept", typ, kept, len(recs))
		}
	}
}

func FuzzECSPlanEqualsLookups(f *testing.F) {
	reg, err := schemas.Load(schemas.Options{})
	if err != nil {
		f.Fatal(err)
	}
	for _, recs := range ecsRecords(f) {
		for _, r := range recs {
			f.Add(r)
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		for _, typ := range []string{"cloudtrail", "guardduty", "waf"} {
			compareECS(t, reg, typ, [][]byte{raw})
		}
	})
}
