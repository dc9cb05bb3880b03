package schemas

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/siemstream/siemstream/internal/doc"
	"github.com/siemstream/siemstream/internal/pyjson"
	"github.com/siemstream/siemstream/internal/pystr"
)

// Helpers shared by more than one per-type transform (Python dict access
// with the failure modes the sf_ scripts rely on). Each transform reproduces
// what the matching es-loader script (siem/sf_<type>.py) does to a document,
// including where such a script stops on an exception (the changes made
// until then are kept, the rest is skipped). A transform used by one type
// lives in transform_<type>.go with its own helpers.

// errStop ends a transform early where the Python script would raise.
var errStop = errors.New("transform stopped")

func stop(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errStop}, a...)...)
}

func strOf(d *doc.Doc, n doc.Node) (string, bool) {
	if d.Kind(n) != doc.String {
		return "", false
	}
	return string(d.Bytes(n)), true
}

// dictToList replaces the object at keys (under root) by the list of its
// values.
// pyIndexErr is what Python raises when indexing a value: pyKeyError and
// pyIndexError are caught by sf_config_snapshot's `except (IndexError,
// KeyError)`, pyTypeError is not.
type pyIndexErr int

const (
	pyFound pyIndexErr = iota
	pyKeyError
	pyIndexError
	pyTypeError
)

// pySub is n[key] for a str key: a dict member, KeyError when absent,
// TypeError on anything but a dict (str, list, None and numbers refuse str
// indices).
func pySub(d *doc.Doc, n doc.Node, key string) (doc.Node, pyIndexErr) {
	if d.Kind(n) != doc.Object {
		return doc.Nil, pyTypeError
	}
	if c := d.Child(n, key); c != doc.Nil {
		return c, pyFound
	}
	return doc.Nil, pyKeyError
}

// pyIPAddress is ipaddress.ip_address(s) succeeding for a str.
func pyIPAddress(s string) bool {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return false
	}
	if a.Is4() {
		// Python rejects leading zeros, as netip does
		return true
	}
	return a.Zone() == "" || true
}

// pyIntNode is int(x) for a JSON string or integer number.
func pyIntNode(d *doc.Doc, n doc.Node) (int64, bool) {
	var s string
	switch d.Kind(n) {
	case doc.String, doc.Number:
		s = strings.TrimFunc(string(d.Bytes(n)), pystr.IsSpace)
	default:
		return 0, false
	}
	s = strings.ReplaceAll(s, "_", "")
	var v int64
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if s == "" {
		return 0, false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	if neg {
		v = -v
	}
	return v, true
}

// underscoreToDots is utils.convert_underscore_field_into_dot_notation:
// top-level fields "<prefix>_x" move to <prefix>.x.
func underscoreToDots(d *doc.Doc, prefix string) error {
	root := d.Root()
	obj := d.Child(root, prefix)
	if obj == doc.Nil {
		obj = d.SetObject(root, prefix)
	}
	var keys []string
	for c := d.First(root); c != doc.Nil; c = d.Next(c) {
		if k := string(d.Key(c)); strings.HasPrefix(k, prefix+"_") {
			keys = append(keys, k)
		}
	}
	if len(keys) > 0 && d.Kind(obj) != doc.Object {
		return stop("%s is not an object", prefix)
	}
	for _, k := range keys {
		d.SetCopy(obj, strings.ReplaceAll(k, prefix+"_", ""), d.Child(root, k))
		d.Delete(root, k)
	}
	return nil
}

// rdsIdentifiers is utils.cluster_instance_identifier: the cluster and
// instance identifiers from /aws/rds/{instance|cluster}/<id>/<log> and the
// log stream; it creates the rds object.
func rdsIdentifiers(d *doc.Doc) (cluster, instance *string, err error) {
	root := d.Root()
	var g3, g4 *string
	if lg, ok := str(d, root, "@log_group"); ok {
		parts := strings.Split(lg, "/")
		if len(parts) < 5 {
			return nil, nil, stop("@log_group %q has too few parts", lg)
		}
		g3, g4 = &parts[3], &parts[4]
	}
	if d.Child(root, "rds") == doc.Nil {
		d.SetObject(root, "rds")
	}
	streamNode := d.Child(root, "@log_stream")
	if streamNode == doc.Nil {
		return nil, nil, stop("@log_stream missing")
	}
	switch {
	case g3 != nil && *g3 == "instance":
		instance = g4
	case g3 != nil && *g3 == "cluster":
		cluster = g4
		s, ok := strOf(d, streamNode)
		if !ok {
			return nil, nil, stop("@log_stream is not a string")
		}
		i, _, _ := strings.Cut(s, ".")
		instance = &i
	}
	return cluster, instance, nil
}

func setRDSIdentifiers(d *doc.Doc) (doc.Node, error) {
	cl, in, err := rdsIdentifiers(d)
	if err != nil {
		return doc.Nil, err
	}
	rds := d.Child(d.Root(), "rds")
	if d.Kind(rds) != doc.Object {
		return doc.Nil, stop("rds is not an object")
	}
	setOptString(d, rds, "cluster_identifier", cl)
	setOptString(d, rds, "instance_identifier", in)
	return rds, nil
}

func setFloat(d *doc.Doc, obj doc.Node, key string, f float64) {
	d.SetNumber(obj, key, pyjson.AppendFloat(nil, f))
}

func setEvent(d *doc.Doc, kv ...string) {
	ev := d.Child(d.Root(), "event")
	for i := 0; i+1 < len(kv); i += 2 {
		d.SetString(ev, kv[i], kv[i+1])
	}
}

func mustPy(name, p string) *regexp.Regexp {
	re, err := compilePy("transform", name, p)
	if err != nil {
		panic(err)
	}
	return re
}

// reInstanceID is utils.RE_INSTANCEID (searched; group "instanceid").
var reInstanceID = mustPy("instanceid", `(\W|_|^)(?P<instanceid>i-([0-9a-z]{8}|[0-9a-z]{17}))(\W|_|$)`)

func instanceIDFromText(s string) string {
	if m := reInstanceID.FindStringSubmatch(s); m != nil {
		return m[2]
	}
	return ""
}

// pyGroups is m.groupdict() of the first regexp that matches s: every named
// group, nil for one that did not take part.
func pyGroups(res []*regexp.Regexp, s string) map[string]*string {
	for _, re := range res {
		m := re.FindStringSubmatchIndex(s)
		if m == nil {
			continue
		}
		out := map[string]*string{}
		for i, name := range re.SubexpNames() {
			if name == "" {
				continue
			}
			if m[2*i] < 0 {
				out[name] = nil
				continue
			}
			v := s[m[2*i]:m[2*i+1]]
			out[name] = &v
		}
		return out
	}
	return nil
}

func setOptString(d *doc.Doc, obj doc.Node, key string, v *string) {
	if v == nil {
		d.SetNull(obj, key)
	} else {
		d.SetString(obj, key, *v)
	}
}

func strOr(d *doc.Doc, n doc.Node, key string) string {
	s, _ := str(d, n, key)
	return s
}

var reWebSiteName = regexp.MustCompile(`/web-site-name=([^/]*?)/`)

// urlHTTPFromRequest is utils.extract_url_http_fields_from_http_request:
// it fills http (version, request.method) and url (original, path, query,
// fragment...) objects from the request line parts.
func urlHTTPFromRequest(d *doc.Doc, httpObj, urlObj doc.Node, method, path, version, raw *string) {
	if version != nil && *version != "" {
		d.SetString(httpObj, "version", *version)
	}
	if method != nil && *method != "" {
		d.SetString(d.SetObject(httpObj, "request"), "method", *method)
	}
	switch {
	case raw != nil && *raw != "":
		d.SetString(urlObj, "original", *raw)
	case method != nil && *method != "" && path != nil && *path != "" && version != nil && *version != "":
		d.SetString(urlObj, "original", *path)
	}
	p := ""
	if path != nil {
		p = *path
	}
	m := ""
	if method != nil {
		m = *method
	}
	urlPathParts(d, urlObj, p, m)
}

var reNotFragment = mustPy("fragment", `[&(){}@_;<>\s]`)

// urlPathParts is the second half of
// extract_url_http_fields_from_http_request: domain/port from an absolute
// or CONNECT request path, URL-decoding (twice at most, strict UTF-8),
// fragment, path, query and extension.
func urlPathParts(d *doc.Doc, u doc.Node, p, method string) {
	switch {
	case strings.HasPrefix(p, "/"):
	case strings.HasPrefix(p, "http://") || strings.HasPrefix(p, "https://"):
		parts := strings.SplitN(p, "/", 4)
		if len(parts) >= 3 {
			dom := parts[2]
			p = "/" + parts[len(parts)-1]
			switch ds := strings.Split(dom, ":"); len(ds) {
			case 1:
				d.SetString(u, "domain", ds[0])
			case 2:
				d.SetString(u, "domain", ds[0])
				d.SetString(u, "port", ds[1])
			}
		}
	case method != "" && strings.ToLower(method) == "connect":
		if ps := strings.Split(p, ":"); len(ps) == 2 {
			d.SetString(u, "domain", ps[0])
			d.SetString(u, "port", ps[1])
			p = ""
		}
	}
	if strings.Contains(p, "%") {
		if q, ok := pyUnquoteStrict(p); ok {
			p = q
			if strings.Contains(p, "%") {
				if q, ok := pyUnquoteStrict(p); ok {
					p = q
				}
			}
		}
	}
	if parts := strings.Split(p, "#"); len(parts) == 2 && !reNotFragment.MatchString(parts[1]) {
		d.SetString(u, "fragment", parts[1])
		p = parts[0]
	}
	path, query, hasQuery := strings.Cut(p, "?")
	d.SetString(u, "path", path)
	if hasQuery {
		d.SetString(u, "query", query)
	}
	file := path[strings.LastIndexByte(path, '/')+1:]
	if fs := strings.Split(file, "."); len(fs) > 1 && !strings.Contains(fs[len(fs)-1], "\\") {
		d.SetString(u, "extension", fs[len(fs)-1])
	}
}

// webOrigin sets what the web-server transforms derive from where a log
// came from: cloud.instance.id and related.hosts from an EC2 instance id in
// the log stream (after the record's hostname, when withHostname and it
// has one), and service.name from a /web-site-name=…/ part of the key.
func webOrigin(d *doc.Doc, root, wd, rel doc.Node, withHostname bool) {
	if id := instanceIDFromText(strOr(d, root, "@log_stream")); id != "" {
		d.SetString(d.SetObject(d.SetObject(wd, "cloud"), "instance"), "id", id)
		if h := d.Child(root, "hostname"); withHostname && d.Truthy(h) {
			l := d.SetArray(rel, "hosts")
			d.AppendCopy(l, h)
			d.AppendString(l, id)
		} else {
			d.SetString(rel, "hosts", id)
		}
	}
	if m := reWebSiteName.FindStringSubmatch(strOr(d, root, "@log_s3key")); m != nil {
		d.SetString(d.SetObject(wd, "service"), "name", m[1])
	}
}

// GuardDuty finding types: ThreatPurpose:ResourceTypeAffected/
// ThreatFamilyName[.DetectionMechanism][!Artifact]. Matched at the start
// only (Python re.match).
var reGDType = regexp.MustCompile(`^(?P<ThreatPurpose>[\p{L}\p{N}_]*):(?P<ResourceTypeAffected>[\p{L}\p{N}_]*)/(?P<ThreatFamilyName>[\p{L}\p{N}_&]*)(\.(?P<DetectionMechanism>[\p{L}\p{N}_]*))?(!(?P<Artifact>[\p{L}\p{N}_]*))?`)

type gdType struct {
	purpose, resource, family string
	mechanism, artifact       *string // nil = group did not take part
}

func splitGDType(re *regexp.Regexp, s string) (gdType, map[string]*string, bool) {
	m := re.FindStringSubmatchIndex(s)
	if m == nil {
		return gdType{}, nil, false
	}
	groups := map[string]*string{}
	for i, name := range re.SubexpNames() {
		if name == "" || m[2*i] < 0 {
			continue
		}
		v := s[m[2*i]:m[2*i+1]]
		groups[name] = &v
	}
	g := func(k string) string {
		if p := groups[k]; p != nil {
			return *p
		}
		return ""
	}
	return gdType{
		purpose: g("ThreatPurpose"), resource: g("ResourceTypeAffected"), family: g("ThreatFamilyName"),
		mechanism: groups["DetectionMechanism"], artifact: groups["Artifact"],
	}, groups, true
}

func setStrOrNull(d *doc.Doc, obj doc.Node, key string, v *string) {
	if v == nil {
		d.SetNull(obj, key)
		return
	}
	d.SetString(obj, key, *v)
}

// pyUnquote is urllib.parse.unquote: %XX sequences decoded as UTF-8, invalid
// sequences replaced by U+FFFD.
func pyUnquote(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	raw := percentDecode(s)
	if utf8.Valid(raw) {
		return string(raw)
	}
	return strings.ToValidUTF8(string(raw), "\uFFFD")
}

// pyUnquoteStrict is urllib.parse.unquote(s, errors='strict'): ok is
// false when the decoded bytes are not valid UTF-8 (UnicodeDecodeError).
func pyUnquoteStrict(s string) (string, bool) {
	raw := percentDecode(s)
	return string(raw), utf8.Valid(raw)
}

// percentDecode replaces each %XX of s by its byte (unquote_to_bytes).
func percentDecode(s string) []byte {
	var raw []byte
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			raw = append(raw, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		raw = append(raw, s[i])
	}
	return raw
}

// setSchemeFromLogGroup sets url.scheme as the sf_apache_* and sf_nginx_*
// scripts do: https when the CloudWatch log group's name contains "ssl",
// else http when it contains plain ("access" or "error").
func setSchemeFromLogGroup(d *doc.Doc, root, urlObj doc.Node, plain string) {
	lg := strOr(d, root, "@log_group")
	switch {
	case lg != "" && strings.Contains(lg, "ssl"):
		d.SetString(urlObj, "scheme", "https")
	case lg != "" && strings.Contains(lg, plain):
		d.SetString(urlObj, "scheme", "http")
	}
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

func unquoteUserAgent(d *doc.Doc) {
	if ua := at(d, d.Root(), "user_agent", "original"); d.Kind(ua) == doc.String {
		d.ReplaceString(ua, pyUnquote(string(d.Bytes(ua))))
	}
}

func setHTTPVersion(d *doc.Doc, field string) error {
	root := d.Root()
	v, ok := str(d, root, field)
	if !ok {
		return stop("%s missing", field)
	}
	parts := strings.Split(v, "/")
	if len(parts) < 2 {
		return stop("%s %q has no /", field, v)
	}
	h := d.Child(root, "http")
	if d.Kind(h) != doc.Object {
		return stop("no http object")
	}
	d.SetString(h, "version", parts[1])
	return nil
}

// at follows keys from n through objects: Nil when a step is missing or
// not an object (Python would raise KeyError/TypeError).
func at(d *doc.Doc, n doc.Node, keys ...string) doc.Node {
	for _, k := range keys {
		if d.Kind(n) != doc.Object {
			return doc.Nil
		}
		n = d.Child(n, k)
		if n == doc.Nil {
			return doc.Nil
		}
	}
	return n
}

// str is the string value at keys under n ("" and false when absent or
// not a string).
func str(d *doc.Doc, n doc.Node, keys ...string) (string, bool) {
	return strOf(d, at(d, n, keys...))
}

// objectAt returns obj[key] when it is an object, creating it (replacing a
// non-object value) otherwise, as Python `obj[key] = {}` would.
func objectAt(d *doc.Doc, obj doc.Node, key string) doc.Node {
	if c := d.Child(obj, key); d.Kind(c) == doc.Object {
		return c
	}
	return d.SetObject(obj, key)
}

// number returns a JSON number node's value.
func number(d *doc.Doc, n doc.Node) (float64, bool) {
	if d.Kind(n) != doc.Number {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(d.Bytes(n)), 64)
	return f, err == nil
}

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// swapSourceDestination is
//
//	logdata['source'], logdata['destination'] = logdata.get('destination'), logdata.get('source')
//
// followed by deleting whichever of the two is now empty.
func swapSourceDestination(d *doc.Doc) {
	root := d.Root()
	src, dst := d.Child(root, "source"), d.Child(root, "destination")
	d.Delete(root, "source")
	d.Delete(root, "destination")
	if dst != doc.Nil && d.Truthy(dst) {
		d.Move(root, "source", dst)
	}
	if src != doc.Nil && d.Truthy(src) {
		d.Move(root, "destination", src)
	}
}

// strIn is Python `s in (a, b, ...)`.
func strIn(s string, set ...string) bool {
	for _, x := range set {
		if s == x {
			return true
		}
	}
	return false
}

// freshObject sets obj[key] to a new empty object, replacing any value (an
// existing object included), as Python `obj[key] = {}` does; doc.SetObject
// would keep an existing object's members.
func freshObject(d *doc.Doc, obj doc.Node, key string) doc.Node {
	d.SetNull(obj, key)
	return d.SetObject(obj, key)
}
