// Package ipparse parses IP address text on the enrichment hot path
// (GeoIP and IoC look up one or more addresses per event). Addr is
// net/netip.ParseAddr with a fast path for the common case, a dotted-quad
// IPv4 address, that skips the general parser; everything else, errors
// included, goes to netip.ParseAddr, so the results are identical.
package ipparse

import "net/netip"

// Addr is netip.ParseAddr(s).
func Addr(s string) (netip.Addr, error) {
	if a, ok := v4(s); ok {
		return a, nil
	}
	return netip.ParseAddr(s)
}

// V4 is Addr's fast path alone: ok when s is a dotted quad Addr accepts
// (then a is Addr(s)); false says nothing about s, which may still be an
// address of another form. It never allocates, so a caller that would
// reject the other forms anyway (or check them another way) pays no error.
func V4(s string) (a netip.Addr, ok bool) { return v4(s) }

// v4 parses exactly four decimal octets of one to three digits, without
// leading zeros, each at most 255 (what netip.ParseAddr accepts as IPv4).
// ok=false means "not this simple form": the caller asks netip.
func v4(s string) (a netip.Addr, ok bool) {
	if len(s) < 7 || len(s) > 15 {
		return a, false
	}
	var b [4]byte
	f, v, n := 0, 0, 0 // field, its value, its digits
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if n == 1 && v == 0 { // leading zero
				return a, false
			}
			v = v*10 + int(c-'0')
			n++
			if n > 3 || v > 255 {
				return a, false
			}
		case c == '.' && n > 0 && f < 3:
			b[f] = byte(v)
			f++
			v, n = 0, 0
		default:
			return a, false
		}
	}
	if f != 3 || n == 0 {
		return a, false
	}
	b[3] = byte(v)
	return netip.AddrFrom4(b), true
}
