package geoip

import (
	"testing"

	"github.com/siemstream/siemstream/stages"
)

// lookupMarked gives what LookupString gives, whether it parses the value
// itself or finds it parsed in the marks; a valid address is kept in the
// marks for ioc, a value LookupString skips (no digit) is not.
func TestLookupMarkedEqualsLookupString(t *testing.T) {
	db := mustDB(t, 1024)
	for _, s := range []string{"81.2.69.142", "81.2.69.1", "10.1.2.3", "1.128.0.1", "8.8.8.8", "::", "::ffff:81.2.69.142",
		"fe80::1%eth0", "not-an-ip-1", "", "081.2.69.142", "2001:db8::1"} {
		want := db.LookupString(s)
		var m stages.PlanMarks
		for pass := range 2 {
			if got := lookupMarked(db, &m, 3, []byte(s)); got != want {
				t.Errorf("%q pass %d: %+v, LookupString %+v", s, pass, got, want)
			}
		}
		if parsed := m.Parsed == 1<<3; parsed != hasDigit(s) {
			t.Errorf("%q: Parsed %08b", s, m.Parsed)
		}
	}
}
