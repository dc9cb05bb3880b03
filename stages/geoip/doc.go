// Package geoip is the GeoIP enrichment stage: for each entity configured for
// the event's log type (es-loader's `geoip` key, e.g. "source destination"),
// it reads "<entity>.ip" and writes what es-loader's GeoDB writes:
//
//	<entity>.geo = {city_name, country_iso_code, country_name, location{lon, lat}}
//	<entity>.as  = {number, organization{name}}
//
// from GeoLite2/GeoIP2 City and ASN databases (names in English, geoip2's
// default locale). A key the database leaves null is set to null, which
// replaces an existing value and is dropped when the document is encoded —
// es-loader's merge_dicts followed by del_none — so a country-only network
// gives no city_name and no location, and an ASN-only network gives only
// <entity>.as. City and ASN lookups are independent. A value without a digit
// or that is not an IP address gives nothing, as in es-loader.
//
// Private and reserved addresses are not filtered: es-loader does not filter
// them either (confirmed by running its code); MaxMind's databases hold none,
// and an organisation's own database with internal ranges works.
//
// Consumes: Event.Doc after normalize, or, for an event normalize's output
// plan wrote, Event.Out and the plan's Event.Marks (planned.go: the same
// members appended to Out, encoded as encode would). Produces: the fields
// above. Never drops or fails an event.
//
// Data: Config.Source is a local directory or s3://bucket/prefix with
// es-loader's layout GeoLite2/GeoLite2-City.mmdb and GeoLite2/GeoLite2-ASN.mmdb
// (or the two files directly in it); either may be absent. The databases are
// read into memory (not mmapped, so a swapped-out reader can never be closed
// under a lookup), checked (metadata type City/ASN and a full Verify) and
// swapped in by an internal/reload Holder: Check loads now, Run polls every
// ReloadInterval (size+mtime, or ETag+LastModified on S3). A corrupt or
// wrong-type candidate is refused and the databases in use stay.
//
// Hot path: results are cached per database pair in a bounded, sharded
// two-generation map keyed by netip.Addr (negative results too); the cache
// is replaced with the databases, so it never serves stale data.
//
// Differences from es-loader: hot reload instead of a 10-day /tmp cache
// refreshed only on cold start; a database of the wrong type is refused at
// load instead of silently giving nothing; a non-string ip (e.g. a list) is
// skipped instead of raising.
package geoip
