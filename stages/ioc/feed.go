package ioc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"path"
	"regexp"
	"strings"
	"time"
)

// Feed formats, the directory names of es-loader's layout IOC/<format>/.
const (
	FormatTXT   = "TXT"
	FormatSTIX2 = "STIX2"
)

// ProviderBuiltIn is the provider of es-loader's two built-in rows.
const ProviderBuiltIn = "built-in"

// AddBuiltIn adds the two rows es-loader's IoC database always holds: IMDS
// 169.254.169.254 (private, so never matched, exactly as in es-loader) and
// the "TEST" range 172.104.242.172-175, provider "built-in", no other fields.
func AddBuiltIn(b *Builder) {
	b.AddPrefix(netip.MustParsePrefix("169.254.169.254/32"), b.Meta(Indicator{Provider: ProviderBuiltIn, Type: TypeIPv4, Name: "IMDS"}))
	b.AddPrefix(netip.MustParsePrefix("172.104.242.172/30"), b.Meta(Indicator{Provider: ProviderBuiltIn, Type: TypeIPv4, Name: "TEST"}))
}

// File is one feed object.
type File struct {
	// Key is the object key relative to the feed root, e.g.
	// "IOC/TXT/myprovider/bad-ips.txt".
	Key     string
	ModTime time.Time
	Data    []byte
}

// FileStats counts what one feed file gave.
type FileStats struct {
	Key      string
	Provider string
	// Read is the number of indicator lines/patterns read, Added the number
	// added (before per-provider de-duplication), Invalid the number skipped.
	Read, Added, Invalid int
	// Examples holds up to 3 invalid values, for the log.
	Examples []string
}

func (s *FileStats) invalid(v string) {
	s.Invalid++
	if len(s.Examples) < 3 {
		s.Examples = append(s.Examples, v)
	}
}

// ProviderOf derives the provider from a feed key the way es-loader does:
// the directory below IOC/<format>/ ("IOC/TXT/acme/list.txt" → "acme"), or
// "custom" for a file directly in IOC/<format>/ (or one named like its
// directory). Keys relative to the IOC directory ("TXT/acme/list.txt") work
// too.
func ProviderOf(key string) string {
	parts := strings.Split(key, "/")
	for i, p := range parts {
		if (p == FormatTXT || p == FormatSTIX2) && i+1 < len(parts) {
			rest := parts[i+1:]
			if len(rest) < 2 || rest[0] == rest[len(rest)-1] {
				return "custom"
			}
			return rest[0]
		}
	}
	return "custom"
}

// isoSeconds formats a time as es-loader does: UTC, seconds, trailing Z.
func isoSeconds(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// ParsePrefix parses a feed value as an IP address or a CIDR. Like Python's
// ipaddress.ip_network (strict), a CIDR with host bits set is invalid. An
// IPv4-mapped IPv6 value is stored as IPv4.
func ParsePrefix(s string) (netip.Prefix, bool) {
	var p netip.Prefix
	if strings.IndexByte(s, '/') >= 0 {
		var err error
		if p, err = netip.ParsePrefix(s); err != nil || p.Masked() != p {
			return netip.Prefix{}, false
		}
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, false
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p, true
}

// looksLikeDomain accepts host names with at least two labels whose last
// label has a letter (so "1.2.3.999" is an invalid address, not a domain).
func looksLikeDomain(d string) bool {
	if d == "" || strings.IndexByte(d, '.') < 0 {
		return false
	}
	labels := strings.Split(d, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 {
			return false
		}
	}
	last := labels[len(labels)-1]
	for i := 0; i < len(last); i++ {
		if c := last[i]; c >= 'a' && c <= 'z' || c >= 0x80 {
			return true
		}
	}
	return false
}

// AddTXT adds a TXT feed: one IP, CIDR or domain per line (es-loader reads
// only IPs and CIDRs; domain lines are our addition). Blank lines and lines
// starting with '#' are ignored; anything else that does not parse is
// counted invalid. The indicator name is the file name and modified_at the
// object's modification time.
func AddTXT(b *Builder, f File) FileStats {
	st := FileStats{Key: f.Key, Provider: ProviderOf(f.Key)}
	base := Indicator{Provider: st.Provider, Name: path.Base(f.Key), ModifiedAt: isoSeconds(f.ModTime)}
	metas := [3]int64{-1, -1, -1}
	meta := func(k int, typ string) uint32 {
		if metas[k] < 0 {
			ind := base
			ind.Type = typ
			metas[k] = int64(b.Meta(ind))
		}
		return uint32(metas[k])
	}
	data := f.Data
	for len(data) > 0 {
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		st.Read++
		s := string(line)
		if p, ok := ParsePrefix(s); ok {
			if p.Addr().Is4() {
				b.AddPrefix(p, meta(0, TypeIPv4))
			} else {
				b.AddPrefix(p, meta(1, TypeIPv6))
			}
			st.Added++
			continue
		}
		if d := NormalizeDomain(s); looksLikeDomain(d) {
			b.AddDomain(d, meta(2, TypeDomain))
			st.Added++
			continue
		}
		st.invalid(s)
	}
	return st
}

// stixPattern finds the comparisons of a STIX 2.x pattern we index.
var stixPattern = regexp.MustCompile(`(ipv4-addr|ipv6-addr|domain-name|url):value\s*(?:=|ISSUBSET)\s*'((?:[^'\\]|\\.)*)'`)

type stixObject struct {
	Name        json.RawMessage `json:"name"`
	Description json.RawMessage `json:"description"`
	Modified    json.RawMessage `json:"modified"`
	Published   json.RawMessage `json:"published"`
	FirstSeen   json.RawMessage `json:"first_seen"`
	LastSeen    json.RawMessage `json:"last_seen"`
	Pattern     json.RawMessage `json:"pattern"`
}

func rawString(r json.RawMessage) string {
	if len(r) == 0 || r[0] != '"' {
		return ""
	}
	var s string
	if json.Unmarshal(r, &s) != nil {
		return ""
	}
	return s
}

// ErrInvalidSTIX marks a file that is not a STIX 2.x bundle.
var ErrInvalidSTIX = errors.New("invalid STIX 2.x format")

// AddSTIX2 adds a STIX 2.x bundle (a JSON object with "id" and "objects").
// Every object with a pattern is read; each ipv4-addr / ipv6-addr value (an
// address or CIDR), domain-name value, and url value (its host) compared in
// the pattern becomes an indicator. The name is "<file>: <object name>" (or
// the file name), first_seen / last_seen / modified (else published) are
// converted to UTC seconds with a trailing Z, description is copied.
func AddSTIX2(b *Builder, f File) (FileStats, error) {
	st := FileStats{Key: f.Key, Provider: ProviderOf(f.Key)}
	var bundle struct {
		ID      json.RawMessage `json:"id"`
		Objects []stixObject    `json:"objects"`
	}
	if err := json.Unmarshal(f.Data, &bundle); err != nil {
		return st, fmt.Errorf("%s: %w: %v", f.Key, ErrInvalidSTIX, err)
	}
	if bundle.ID == nil || bundle.Objects == nil {
		return st, fmt.Errorf("%s: %w: no \"id\" or \"objects\"", f.Key, ErrInvalidSTIX)
	}
	file := path.Base(f.Key)
	for _, o := range bundle.Objects {
		pat := rawString(o.Pattern)
		if pat == "" {
			continue
		}
		ind := Indicator{Provider: st.Provider, Name: file, Description: rawString(o.Description),
			FirstSeen: isoTime(rawString(o.FirstSeen)), LastSeen: isoTime(rawString(o.LastSeen)),
			ModifiedAt: isoTime(rawString(o.Modified))}
		if n := rawString(o.Name); n != "" {
			ind.Name = file + ": " + n
		}
		if ind.ModifiedAt == "" {
			ind.ModifiedAt = isoTime(rawString(o.Published))
		}
		for _, m := range stixPattern.FindAllStringSubmatch(pat, -1) {
			st.Read++
			v := unescapeSTIX(m[2])
			typ := m[1]
			if typ == "url" {
				u, err := url.Parse(v)
				if err != nil || u.Hostname() == "" {
					st.invalid(v)
					continue
				}
				v = u.Hostname()
				if _, ok := ParsePrefix(v); ok {
					typ = TypeIPv4
				} else {
					typ = TypeDomain
				}
			}
			switch typ {
			case TypeIPv4, TypeIPv6:
				p, ok := ParsePrefix(v)
				if !ok {
					st.invalid(v)
					continue
				}
				ind.Type = TypeIPv4
				if !p.Addr().Is4() {
					ind.Type = TypeIPv6
				}
				b.AddPrefix(p, b.Meta(ind))
			case TypeDomain:
				d := NormalizeDomain(v)
				if d == "" {
					st.invalid(v)
					continue
				}
				ind.Type = TypeDomain
				b.AddDomain(d, b.Meta(ind))
			}
			st.Added++
		}
	}
	return st, nil
}

func unescapeSTIX(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		sb.WriteByte(s[i])
	}
	return sb.String()
}

// isoTime converts an ISO 8601 time to es-loader's form (UTC, whole seconds,
// trailing Z); a time without offset is taken as UTC. Unparsable → "".
func isoTime(s string) string {
	if s == "" {
		return ""
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00",
		"2006-01-02 15:04:05.999999999", "2006-01-02T15:04Z07:00", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return isoSeconds(t)
		}
	}
	return ""
}
