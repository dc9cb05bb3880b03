package normalize_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/siemstream/siemstream/stages"
)

// listTypeINI is a user type whose list-typed targets (not IP addresses,
// so any text) take record values and static values that may need
// escaping: the plan's plainness of lists (per element, known without a
// scan) against the tree path. No built-in planned type has one.
const listTypeINI = `
[planlist]
s3_key = planlist/
file_format = text
index_name = log-planlist
log_pattern = ^(?P<ts>\S+) (?P<usr>\S*) (?P<peer>\S*) (?P<host>.*)$$
timestamp_key = ts
timestamp_format = %Y-%m-%dT%H:%M:%S.%fZ
ecs = user.name related.user related.hosts
user.name = usr
related.user = [usr, peer]
related.hosts = [host]
static_ecs = event.category event.module
event.category = [web, "quoted\"]
event.module = pl"an
`

func TestPlanListPlainness(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "user.ini"), []byte(listTypeINI), 0o600); err != nil {
		t.Fatal(err)
	}
	reg := loadRegistry(t, dir)
	src := &stages.Source{LogType: "planlist", Bucket: bucket, Key: "planlist/2025/03/14/x.log"}
	var events []stages.Event
	for i, l := range []string{
		`2025-03-14T11:55:01.000000Z alice bob web-1`,
		`2025-03-14T11:55:01.000000Z al"ice bob web "1"`,
		`2025-03-14T11:55:01.000000Z alice b\ob w\eb`,
		`2025-03-14T11:55:01.000000Z zoë bob hôte`,
		"2025-03-14T11:55:01.000000Z al\x01ice bob\x7f web\xff",
		`2025-03-14T11:55:01.000000Z - - -`,
		`2025-03-14T11:55:01.000000Z  bob "`,
	} {
		events = append(events, stages.Event{Src: src, Ordinal: int64(i + 1), Raw: []byte(l)})
	}
	if n, _, _ := comparePlanned(t, reg, events, offMode); n == 0 {
		t.Fatal("no record took a plan")
	}
}
