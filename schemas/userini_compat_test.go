package schemas

import (
	"os"
	"path/filepath"
	"testing"
)

// An es-loader user.ini that overrides built-in types and builds new ones
// from their keys (${section:key}) loads without warnings.
func TestUserINIReferencesBuiltins(t *testing.T) {
	p := filepath.Join(t.TempDir(), "user.ini")
	if err := os.WriteFile(p, []byte(`
[guardduty]
index_rotation = daily

[linux-os-syslog]
s3_key = /[Ll]inux/|/syslog/

[my-windows]
s3_key = /my-windows-events/
file_format = winevtxml
index_name = log-my-windows
timestamp_key = ${windows-event:timestamp_key}
timestamp_nano = ${windows-event:timestamp_nano}
ecs = source.ip user.name related.ip
source.ip = ${windows-event:source.ip}
user.name = ${windows-event:user.name}
related.ip = ${windows-event:related.ip}

[my-ocsf]
s3_key = /my-ocsf/
file_format = json
index_name = log-my-ocsf
timestamp_key = ${securitylake:timestamp_key}
timestamp_format = ${securitylake:timestamp_format}
ecs = source.ip user.name
source.ip = ${securitylake:source.ip}
user.name = ${securitylake:user.name}
script_ecs = user.name
transform = ocsf_json
`), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Load(Options{UserINI: p})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range r.Warnings() {
		t.Errorf("warning: %s", w)
	}
	if gd := r.Lookup("guardduty"); gd.IndexRotation != RotateDaily || gd.DocID != "id" {
		t.Errorf("guardduty override: %v %q", gd.IndexRotation, gd.DocID)
	}
	if lt, _ := r.Detect("host/syslog/messages.gz"); lt == nil || lt.Name != "linux-os-syslog" {
		t.Errorf("linux-os-syslog s3_key override: %v", lt)
	}
	w := r.Lookup("my-windows")
	if w == nil || len(w.ECS) != 3 || !w.TimestampNano || w.Raw("source.ip") != "Event.EventData.Data.IpAddress Event.EventData.Data.SourceAddress" {
		t.Fatalf("my-windows: %+v", w)
	}
	if o := r.Lookup("my-ocsf"); o == nil || o.Transform == nil || o.Raw("timestamp_key") != "time" {
		t.Fatalf("my-ocsf: %+v", o)
	}
}
