package ipparse

import (
	"net/netip"
	"testing"
)

// checkV4: V4 accepts only what netip.ParseAddr parses as the same IPv4
// address, and every plain dotted quad it parses.
func checkV4(t *testing.T, s string) {
	t.Helper()
	got, ok := V4(s)
	want, err := netip.ParseAddr(s)
	if ok && (err != nil || got != want || !want.Is4()) {
		t.Fatalf("V4(%q) = %v; netip: %v, %v", s, got, want, err)
	}
	if !ok && err == nil && want.Is4() && want.String() == s {
		t.Fatalf("V4(%q) refused a dotted quad", s)
	}
}

func TestV4MatchesNetip(t *testing.T) {
	for _, s := range seeds {
		checkV4(t, s)
	}
}

func FuzzV4MatchesNetip(f *testing.F) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(checkV4)
}
