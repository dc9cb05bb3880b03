package normalize

import (
	"testing"

	"github.com/siemstream/siemstream/schemas"
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
		// objects the mapping writes into already in the record (direct
		// mapECS merges into them)
		`{"eventTime":"2025-03-14T12:00:00Z","eventID":"d1","sourceIPAddress":"1.2.3.4","source":{"port":1,"ip":"x"},"userIdentity":{"userName":{"a":1}},"user":{"name":{"b":2},"id":"u"},"ecs":"v","error":{"code":{"k":1}},"errorCode":{"k":2,"j":3},"related":{"ip":"s"},"user_agent":[1],"rule":{"name":null},"eventName":"E"}`,
		`{"eventTime":"2025-03-14T12:00:00Z","eventID":"d2","sourceIPAddress":"1.2.3.4","event":{"action":"a","module":"m","kind":"k","outcome":"o"},"ecs":{"version":"0","x":1},"related":"r","user_agent":{"original":{"x":1}},"userAgent":"ua"}`,
		`{"eventTime":"2025-03-14T12:00:00Z","eventID":"d4","sourceIPAddress":"1.2.3.4","source":{},"user":{"x":{}},"rule":{},"error":{},"errorCode":"c","eventName":"E","userIdentity":{"userName":"n"}}`,
		`{"eventTime":"2025-03-14T12:00:00Z","eventID":"d3","sourceIPAddress":[{"a":1}],"related":{"ip":["1.1.1.1"]},"user":"u","userIdentity":{"accessKeyId":12}}`,
	} {
		out["cloudtrail"] = append(out["cloudtrail"], []byte(s))
	}
	return out
}

// The ECS fast paths against their slow switches: the srcPlan path reads
// (slowECS: every path looked up again), and direct mapECS, which writes the
// ECS fields into the record (slowDirect: built apart and merged).
var (
	slowLookups = func(s *Stage) { s.slowECS = true }
	slowMerge   = func(s *Stage) { s.slowDirect = true }
)

// equalsSlow runs every ECS record through the stage and through its slow
// switch and wants both byte-identical, with at least half of them kept.
func equalsSlow(t *testing.T, slow func(*Stage)) {
	reg, err := schemas.Load(schemas.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for typ, recs := range ecsRecords(t) {
		if kept := compareSlow(t, reg, typ, recs, slow); kept < len(recs)/2 {
			t.Fatalf("%s: only %d of %d records kept", typ, kept, len(recs))
		}
	}
}

// fuzzEqualsSlow is equalsSlow on one fuzzed record of each JSON type.
func fuzzEqualsSlow(f *testing.F, slow func(*Stage)) {
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
			compareSlow(t, reg, typ, [][]byte{raw}, slow)
		}
	})
}

func TestECSPlanEqualsLookups(t *testing.T) { equalsSlow(t, slowLookups) }

func FuzzECSPlanEqualsLookups(f *testing.F) { fuzzEqualsSlow(f, slowLookups) }

func TestECSDirectEqualsMerge(t *testing.T) {
	reg, err := schemas.Load(schemas.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if lt := reg.Lookup("cloudtrail"); !planFor(lt).direct {
		t.Fatal("cloudtrail's ECS plan is not direct")
	}
	equalsSlow(t, slowMerge)
}

func FuzzECSDirectEqualsMerge(f *testing.F) { fuzzEqualsSlow(f, slowMerge) }
