package backfill

import (
	"testing"
	"time"

	"github.com/siemstream/siemstream/schemas"
)

const (
	vpcKey = "AWSLogs/123456789012/vpcflowlogs/us-east-1/2025/03/14/123456789012_vpcflowlogs_us-east-1_fl-0a1b2c3d4e5f6a7b8_20250314T1200Z_00000001.log.gz"
	ctKey  = "AWSLogs/123456789012/CloudTrail/us-east-1/2025/03/14/123456789012_CloudTrail_us-east-1_20250314T1200Z_abc.json.gz"
)

func registry(t testing.TB) *schemas.Registry {
	t.Helper()
	reg, err := schemas.Load(schemas.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func TestFilterDecide(t *testing.T) {
	reg := registry(t)
	t0 := time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name   string
		filter Filter
		e      Entry
		want   Decision
		lt     string
	}{
		{"vpc, no filter", Filter{}, Entry{Key: vpcKey}, Load, "vpcflowlogs"},
		{"folder", Filter{}, Entry{Key: "AWSLogs/"}, SkipFolder, ""},
		{"unknown", Filter{}, Entry{Key: "misc/readme.txt"}, SkipUnknown, ""},
		{"dead letters", Filter{ExcludePrefixes: []string{"siemstream-deadletter/"}}, Entry{Key: "siemstream-deadletter/producer/b/" + vpcKey + ".jsonl"}, SkipPrefix, ""},
		{"wanted type", Filter{LogTypes: []string{"cloudtrail", "vpcflowlogs"}}, Entry{Key: vpcKey}, Load, "vpcflowlogs"},
		{"other type", Filter{LogTypes: []string{"cloudtrail"}}, Entry{Key: vpcKey}, SkipLogType, "vpcflowlogs"},
		{"cloudtrail", Filter{LogTypes: []string{"cloudtrail"}}, Entry{Key: ctKey}, Load, "cloudtrail"},
		{"since: equal is in", Filter{Since: t0}, Entry{Key: vpcKey, LastModified: t0}, Load, "vpcflowlogs"},
		{"since: before is out", Filter{Since: t0}, Entry{Key: vpcKey, LastModified: t0.Add(-time.Second)}, SkipTime, "vpcflowlogs"},
		{"until: equal is out", Filter{Until: t0}, Entry{Key: vpcKey, LastModified: t0}, SkipTime, "vpcflowlogs"},
		{"until: before is in", Filter{Until: t0}, Entry{Key: vpcKey, LastModified: t0.Add(-time.Second)}, Load, "vpcflowlogs"},
		{"window", Filter{Since: t0, Until: t0.Add(time.Hour)}, Entry{Key: vpcKey, LastModified: t0.Add(30 * time.Minute)}, Load, "vpcflowlogs"},
		{"undated passes", Filter{Since: t0, Until: t0.Add(time.Hour)}, Entry{Key: vpcKey}, Load, "vpcflowlogs"},
		{"type checked before time", Filter{LogTypes: []string{"alb"}, Since: t0}, Entry{Key: vpcKey, LastModified: t0.Add(-time.Hour)}, SkipLogType, "vpcflowlogs"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, lt := c.filter.Decide(reg, c.e)
			if d != c.want {
				t.Fatalf("decision = %v, want %v", d, c.want)
			}
			name := ""
			if lt != nil {
				name = lt.Name
			}
			if name != c.lt {
				t.Errorf("log type = %q, want %q", name, c.lt)
			}
		})
	}
}

func TestFilterValidate(t *testing.T) {
	reg := registry(t)
	known := func(n string) bool { return reg.Lookup(n) != nil }
	t0 := time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)
	if err := (Filter{LogTypes: []string{"vpcflowlogs", "cloudtrail"}}).Validate(known); err != nil {
		t.Errorf("valid filter: %v", err)
	}
	if err := (Filter{LogTypes: []string{"vpcflowlog"}}).Validate(known); err == nil {
		t.Errorf("misspelt log type accepted")
	}
	if err := (Filter{Since: t0, Until: t0}).Validate(known); err == nil {
		t.Errorf("empty window accepted")
	}
}

func TestParseTime(t *testing.T) {
	now := time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Time
		err  bool
	}{
		{"", time.Time{}, false},
		{"2025-03-01T09:00:00+09:00", time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), false},
		{"2025-03-01T00:00:00Z", time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), false},
		{"2025-03-01", time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), false},
		{"2025-03-01 10:30:00", time.Date(2025, 3, 1, 10, 30, 0, 0, time.UTC), false},
		{"2025-03-01T10:30", time.Date(2025, 3, 1, 10, 30, 0, 0, time.UTC), false},
		{"36h", now.Add(-36 * time.Hour), false},
		{"7d", now.Add(-7 * 24 * time.Hour), false},
		{"-5h", time.Time{}, true},
		{"yesterday", time.Time{}, true},
	}
	for _, c := range cases {
		got, err := ParseTime(c.in, now)
		if (err != nil) != c.err || !got.Equal(c.want) {
			t.Errorf("ParseTime(%q) = %s, %v; want %s, error %v", c.in, got, err, c.want, c.err)
		}
	}
}

func TestRunName(t *testing.T) {
	cases := []struct {
		cfg  Config
		want string
	}{
		{Config{Bucket: "logs", Prefix: "AWSLogs/123/vpcflowlogs/"}, "backfill-logs-AWSLogs-123-vpcflowlogs"},
		{Config{Bucket: "logs"}, "backfill-logs"},
		{Config{Bucket: "logs", Prefix: "a b/ü/"}, "backfill-logs-a-b"},
		{Config{Bucket: "logs", ListFile: "/tmp/x/objects.txt"}, "objects.txt"},
		{Config{Bucket: "logs", ListFile: "objects.txt", Name: "mine"}, "mine"},
	}
	for _, c := range cases {
		if got := c.cfg.RunName(); got != c.want {
			t.Errorf("RunName(%+v) = %q, want %q", c.cfg, got, c.want)
		}
	}
	if got := (RedriveConfig{QueueURL: "http://127.0.0.1:4566/123456789012/siem-dlq"}).RunName(); got != "redrive-siem-dlq" {
		t.Errorf("redrive name = %q", got)
	}
}
