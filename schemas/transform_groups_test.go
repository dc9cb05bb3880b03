package schemas

import (
	"strings"
	"testing"

	"github.com/siemstream/siemstream/internal/doc"
)

func TestGuardDutySeverityLabel(t *testing.T) {
	for _, c := range []struct {
		sev  float64
		want string
	}{{0.1, "low"}, {3.9, "low"}, {4, "medium"}, {6.9, "medium"}, {7, "high"}, {8.9, "high"},
		// es-loader defect 22: no label (the script raises) from 9.0 on
		{9, "critical"}, {10, "critical"}} {
		if got := guardDutySeverityLabel(c.sev); got != c.want {
			t.Errorf("%v: %s, want %s", c.sev, got, c.want)
		}
	}
}

// A severity-9 finding keeps every transform result (es-loader would stop
// after rule.name).
func TestGuardDutyCritical(t *testing.T) {
	d := doc.New()
	if err := d.ParseObject([]byte(`{"severity":9.5,"type":"Backdoor:EC2/C&CActivity.B!DNS","rule":{"name":" C&C activity. "},` +
		`"service":{"action":{"actionType":"DNS_REQUEST"}},"source":{"ip":"10.0.0.1"},"event":{"category":"intrusion_detection"}}`)); err != nil {
		t.Fatal(err)
	}
	if err := transformGuardDuty(&TransformContext{Doc: d}); err != nil {
		t.Fatal(err)
	}
	got := string(d.AppendJSON(nil))
	for _, want := range []string{`"severitylabel":"critical"`, `"name":"C&C activity"`, `"ThreatFamilyName":"C&CActivity"`,
		`"DetectionMechanism":"B"`, `"Artifact":"DNS"`, `"direction":"outbound"`, `"destination":{"ip":"10.0.0.1"}`, `"category":"malware"`} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %s in %s", want, got)
		}
	}
	if strings.Contains(got, `"source"`) {
		t.Errorf("source should have been swapped away: %s", got)
	}
}

// cloudFrontDistributionID against what Python's
// re.search(r'(?=[0-9]{0,13}[A-Z])[A-Z0-9]{12,14}', s) returns.
func TestCloudFrontDistributionID(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"AWSLogs/123456789012/CloudFront/E2QWRUHAPOMQZL/realtime/x.gz", "E2QWRUHAPOMQZL"},
		{"123456789012345/E2QWRUHAPOMQZL", "E2QWRUHAPOMQZL"}, // 15 digits: no letter in reach until the ID
		{"1234567890123A", "1234567890123A"},
		{"12345678901234A5678", "2345678901234A"},
		{"ABCDEFGHIJK", ""},
		{"abcDEFGHIJKLMNOPQ", "DEFGHIJKLMNOPQ"},
	} {
		got, _ := cloudFrontDistributionID(c.in)
		if got != c.want {
			t.Errorf("%q: %q, want %q", c.in, got, c.want)
		}
	}
}

func TestPyUnquote(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Mozilla/5.0%20(X11)", "Mozilla/5.0 (X11)"},
		{"%E3%81%82", "あ"},
		{"%zz%2", "%zz%2"},
		{"%ff", "\uFFFD"},
	} {
		if got := pyUnquote(c.in); got != c.want {
			t.Errorf("%q: %q, want %q", c.in, got, c.want)
		}
	}
}

// mysqlQueryStart against Python's
// re.search(r'^(?!(use|set))[\s\S]*', s, re.MULTILINE|re.IGNORECASE).
func TestMySQLQueryStart(t *testing.T) {
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"use db;\nSET timestamp=1;\nselect 1;", "select 1;", true},
		{"SET x=1;\nuse y;\n", "", true},
		{"select 1", "select 1", true},
		{"Use a;\nset b;\n\nselect 2;", "\nselect 2;", true},
		{"use a;", "", false},
		{"", "", true},
	} {
		got, ok := mysqlQueryStart(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("%q: %q %v, want %q %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func FuzzTransformHelpers(f *testing.F) {
	for _, s := range []string{"", "%", "%e3%81%82", `\x41\u00e9\n'a'`, "use a;\nselect 1", "AWSLogs/E2QWRUHAPOMQZL/realtime", `\`, `\x4`, `\U0011ffff`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		pyUnquote(s)
		pyUnquoteStrict(s)
		pyUnicodeEscape(s)
		if id, ok := cloudFrontDistributionID(s); ok && (len(id) < 12 || len(id) > 14) {
			t.Fatalf("distribution id %q", id)
		}
		if q, ok := mysqlQueryStart(s); ok && !strings.HasSuffix(s, q) {
			t.Fatalf("query %q is not a suffix of %q", q, s)
		}
		parseXFF(s)
		instanceIDFromText(s)
	})
}
