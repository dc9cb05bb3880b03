package ioc

import "net/netip"

// Python 3.11's ipaddress is_private tables (checked against CPython 3.11.7,
// the runtime es-loader runs on). Note 100.64.0.0/10 (shared address space)
// is not private there, and an IPv4-mapped IPv6 address is private when its
// IPv4 address is.
var (
	privateV4 = mustPrefixes(
		"0.0.0.0/8", "10.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16",
		"172.16.0.0/12", "192.0.0.0/29", "192.0.0.170/31", "192.0.2.0/24",
		"192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24",
		"240.0.0.0/4", "255.255.255.255/32")
	privateV6 = mustPrefixes(
		"::1/128", "::/128", "::ffff:0:0/96", "100::/64", "2001::/23",
		"2001:2::/48", "2001:db8::/32", "2001:10::/28", "fc00::/7", "fe80::/10")
)

// privateV4Masks is privateV4 as (network, mask) pairs: an IPv4 address is
// checked with one AND and compare per prefix instead of Prefix.Contains.
var privateV4Masks = func() (out []struct{ net, mask uint32 }) {
	for _, p := range privateV4 {
		a := p.Addr().As4()
		mask := ^uint32(0) << (32 - p.Bits())
		out = append(out, struct{ net, mask uint32 }{uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3]), mask})
	}
	return out
}()

func mustPrefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// IsPrivate reports whether Python 3.11's ipaddress module calls addr
// private; es-loader never looks such an address up in the IoC database.
func IsPrivate(addr netip.Addr) bool {
	addr = addr.WithZone("")
	if addr.Is4In6() {
		addr = addr.Unmap()
	}
	if addr.Is4() {
		a := addr.As4()
		u := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
		for _, p := range privateV4Masks {
			if u&p.mask == p.net {
				return true
			}
		}
		return false
	}
	for _, p := range privateV6 {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
