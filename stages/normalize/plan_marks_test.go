package normalize

import (
	"testing"
	"unsafe"

	"github.com/siemstream/siemstream/internal/ipparse"
)

// validIPMarked trusts ipparse.V4 alone for a marked value: whatever it
// accepts, validIP (Python's ipaddress.ip_address) must accept too.
func checkV4Valid(t *testing.T, s string) {
	t.Helper()
	if _, ok := ipparse.V4(s); ok && !validIP(unsafe.Slice(unsafe.StringData(s), len(s))) {
		t.Fatalf("ipparse.V4 accepts %q, validIP refuses it", s)
	}
}

var v4Seeds = []string{
	"1.2.3.4", "0.0.0.0", "255.255.255.255", "256.1.1.1", "01.2.3.4", "1.2.3.04", "1.2.3", "1.2.3.4.5", "1..2.3",
	"1.2.3.4 ", "1.2.3.4%eth0", "::ffff:1.2.3.4", "10.0.0.00", "-", "", "1.2.3.-4", "+1.2.3.4", "1.2.3.4\n",
}

func TestV4ImpliesValidIP(t *testing.T) {
	for _, s := range v4Seeds {
		checkV4Valid(t, s)
	}
}

func FuzzV4ImpliesValidIP(f *testing.F) {
	for _, s := range v4Seeds {
		f.Add(s)
	}
	f.Fuzz(checkV4Valid)
}
