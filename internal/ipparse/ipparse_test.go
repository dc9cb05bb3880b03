package ipparse

import (
	"net/netip"
	"testing"
)

var seeds = []string{
	"", "1.2.3.4", "0.0.0.0", "255.255.255.255", "256.1.1.1", "01.2.3.4", "1.2.3.04", "1.2.3", "1.2.3.4.5",
	"1..2.3", ".1.2.3", "1.2.3.", "1.2.3.4 ", " 1.2.3.4", "1.2.3.4%eth0", "::1", "::ffff:1.2.3.4", "fe80::1%eth0",
	"2001:db8::1", "1.2.3.a", "1234.1.1.1", "0.0.0.00", "10.0.0.1", "8.8.8.8", "100.64.0.1",
}

func check(t *testing.T, s string) {
	t.Helper()
	got, gerr := Addr(s)
	want, werr := netip.ParseAddr(s)
	if got != want || (gerr == nil) != (werr == nil) {
		t.Fatalf("Addr(%q) = %v, %v; netip: %v, %v", s, got, gerr, want, werr)
	}
	if gerr != nil && gerr.Error() != werr.Error() {
		t.Fatalf("Addr(%q) error %q, netip %q", s, gerr, werr)
	}
}

func TestAddrMatchesNetip(t *testing.T) {
	for _, s := range seeds {
		check(t, s)
	}
}

func FuzzAddrMatchesNetip(f *testing.F) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(check)
}

func BenchmarkAddr(b *testing.B) {
	for _, impl := range []struct {
		name string
		f    func(string) (netip.Addr, error)
	}{{"fast", Addr}, {"netip", netip.ParseAddr}} {
		b.Run(impl.name, func(b *testing.B) {
			for b.Loop() {
				_, _ = impl.f("203.0.113.254")
			}
		})
	}
}
