// Package ioc is the threat-intelligence (IoC) enrichment stage. For the
// fields configured for the event's log type (es-loader's `ioc_ip` and
// `ioc_domain`; each field may hold a string or a list of strings) it looks
// the values up in an in-memory index built from feed files and writes
//
//	threat.enrichments = [{indicator: {provider, name, ip, first_seen,
//	    last_seen, modified_at, reference, type, description},
//	    matched: {atomic (domains), field: [document fields holding it]}}]
//	threat.matched     = {providers, types, indicators, names}
//
// with es-loader's content: one entry per matching indicator row (the same
// address in feeds of two providers gives two entries; an address inside
// both a /24 and a /32 of one provider gives two), absent keys for empty
// values, indicator.ip / matched.atomic the value as written in the document.
//
// Feeds (Config.Source, a directory or s3://bucket/prefix) use the layout of
// es-loader's IoC builder: IOC/TXT/<provider>/<file> (one IP, CIDR or
// domain per line) and IOC/STIX2/<provider>/<file> (STIX 2.x bundles); a file
// directly under IOC/TXT/ has provider "custom". For TXT the indicator name
// is the file name and modified_at the object's modification time (UTC,
// seconds, "Z"); for STIX 2.x the name is "<file>: <object name>", first_seen,
// last_seen and modified (else published) are converted the same way, and
// description is copied. The newest MaxFiles objects per format are read,
// bigger than MaxFileSize skipped. Indicators are de-duplicated per provider
// (same provider, same prefix or domain: the newest file wins). es-loader's
// two built-in rows are always present (provider "built-in": IMDS
// 169.254.169.254, never matched because it is private, and TEST
// 172.104.242.172-175). Addresses that Python 3.11's ipaddress calls private
// (IsPrivate) are never looked up.
//
// Index: distinct CIDR prefixes in sorted arrays (IPv4 uint32, IPv6 128-bit)
// with a parent link per prefix; CIDRs nest or are disjoint, so all prefixes
// containing an address are the parent chain of the last prefix starting at
// or before it (one binary search). 1,000,000 indicators build in well under
// a second into ~25 MiB. Domains are an exact-match map (lower-cased, one
// trailing dot removed); MatchParentDomains also matches parent domains.
// The index is built off the hot path and swapped by an internal/reload
// Holder (Check now, Run every ReloadInterval); a feed that cannot be read
// refuses the candidate and the index in use stays; a file that is not a
// valid feed is skipped with an error log, as es-loader does.
//
// Consumes: Event.Doc after normalize (and geoip), or, for an event
// normalize's output plan wrote, Event.Out and the plan's Event.Marks
// (planned.go). Produces: threat.*. Never drops or fails an event.
//
// Deliberate differences from es-loader:
//   - threat.enrichments and threat.matched are nested objects, not literal
//     dotted top-level keys, and threat.matched lists are sorted
//     (deterministic) rather than in set order; enrichments are ordered by
//     value (first seen), then most specific prefix first, then provider and
//     name.
//   - TXT feeds may also list domains (es-loader skips them); STIX 2.x url
//     indicators index their host (es-loader ignores url); every
//     ipv4-addr/ipv6-addr/domain-name/url comparison of a pattern is read,
//     not only the last word; an invalid STIX value is skipped instead of
//     aborting the whole build.
//   - All prefixes containing an address match (es-loader's SQL only looks at
//     the 300 ranges with the highest start below it); es-loader's bug that
//     loses a range with several non-adjacent IPv6 lines in one TXT file is
//     not reproduced.
//   - Domain matching ignores case and one trailing dot; an IPv4-mapped IPv6
//     address (::ffff:a.b.c.d) is matched against IPv4 indicators.
//   - matched.field lists each field once even if a list holds the value
//     twice.
//   - Hot reload instead of a 3-day /tmp cache refreshed on cold start.
package ioc
