package schemas

import (
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/siemstream/siemstream/internal/doc"
)

// Go transforms for web-facing AWS services: waf, cloudfront-standard,
// cloudfront-realtime, s3accesslog (es-loader's sf_waf,
// sf_cloudfront_standard, sf_cloudfront_realtime, sf_s3accesslog).

func init() {
	RegisterTransform("waf", transformWAF)
	RegisterTransform("cloudfront_standard", transformCloudFrontStandard)
	RegisterTransform("cloudfront_realtime", transformCloudFrontRealtime)
	RegisterTransform("s3accesslog", transformS3AccessLog)
}

// transformWAF: every request header becomes httpRequest.header.<name>
// (lower case, "-" as "_"; Authorization dropped), Host, User-Agent and
// Referer also go to url.domain, user_agent.original and
// http.request.referrer; rule.ruleset, cloud.region and cloud.account.id
// come from the WAFv2 web ACL ARN (a WAFv1 web ACL id is the ruleset);
// http.version from httpRequest.httpVersion.
func transformWAF(tc *TransformContext) error {
	d := tc.Doc
	root := d.Root()
	req := d.Child(root, "httpRequest")
	headers := at(d, req, "headers")
	if headers == doc.Nil {
		return stop("httpRequest.headers missing")
	}
	if d.Kind(headers) == doc.Array && d.Len(headers) > 0 {
		hdr := freshObject(d, req, "header")
		for h := d.First(headers); h != doc.Nil; h = d.Next(h) {
			name, ok := str(d, h, "name")
			val := at(d, h, "value")
			if !ok || val == doc.Nil {
				return stop("header without name/value")
			}
			key := strings.ReplaceAll(strings.ToLower(name), "-", "_")
			d.SetCopy(hdr, key, val)
			switch key {
			case "host":
				u := d.Child(root, "url")
				if d.Kind(u) != doc.Object {
					return stop("no url object")
				}
				d.SetCopy(u, "domain", val)
			case "user_agent":
				ua := freshObject(d, root, "user_agent")
				d.SetCopy(ua, "original", val)
			case "referer":
				r := at(d, root, "http", "request")
				if d.Kind(r) != doc.Object {
					return stop("no http.request object")
				}
				d.SetCopy(r, "referrer", val)
			case "authorization":
				d.Delete(hdr, key)
			}
		}
	}
	acl, ok := str(d, root, "webaclId")
	if !ok {
		return stop("webaclId is not a string")
	}
	rule := d.Child(root, "rule")
	cloud := d.Child(root, "cloud")
	if d.Kind(rule) != doc.Object || d.Kind(cloud) != doc.Object {
		return stop("rule/cloud missing")
	}
	slash := strings.Split(acl, "/")
	colon := strings.Split(acl, ":")
	if len(slash) > 2 {
		d.SetString(rule, "ruleset", slash[2])
	}
	if len(slash) > 2 && len(colon) > 5 {
		regionType, _, _ := strings.Cut(colon[5], "/")
		if regionType == "global" {
			d.SetString(cloud, "region", "global")
		} else {
			d.SetString(cloud, "region", colon[3])
		}
		acct := freshObject(d, cloud, "account")
		d.SetString(acct, "id", colon[4])
	} else {
		// WAFv1 (IndexError in the script)
		d.SetString(rule, "ruleset", acl)
	}
	ver, ok := str(d, req, "httpVersion")
	if !ok {
		return stop("httpVersion missing")
	}
	parts := strings.Split(ver, "/")
	if len(parts) < 2 {
		return stop("httpVersion %q", ver)
	}
	h := d.Child(root, "http")
	if d.Kind(h) != doc.Object {
		return stop("no http object")
	}
	d.SetString(h, "version", parts[1])
	return nil
}

// pyUnquote is urllib.parse.unquote: %XX sequences decoded as UTF-8, invalid
// sequences replaced by U+FFFD.
func pyUnquote(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var raw []byte
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			raw = append(raw, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		raw = append(raw, s[i])
	}
	if utf8.Valid(raw) {
		return string(raw)
	}
	return strings.ToValidUTF8(string(raw), "\uFFFD")
}

// pyUnquoteStrict is urllib.parse.unquote(s, errors='strict'): ok is
// false when the decoded bytes are not valid UTF-8 (UnicodeDecodeError).
func pyUnquoteStrict(s string) (string, bool) {
	var raw []byte
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			raw = append(raw, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		raw = append(raw, s[i])
	}
	return string(raw), utf8.Valid(raw)
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

var reCFDistID = regexp.MustCompile(`/([0-9A-Z]{12,14})\.`)

// transformCloudFrontStandard: url.full, http.version, URL-decoded
// user_agent.original, distribution_id from the object key, date_time with
// a space instead of the tab.
func transformCloudFrontStandard(tc *TransformContext) error {
	d := tc.Doc
	root := d.Root()
	q, ok1 := str(d, root, "cs_uri_query")
	proto, ok2 := str(d, root, "cs_protocol")
	host, ok3 := str(d, root, "x_host_header")
	path, ok4 := str(d, root, "cs_uri_stem")
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return stop("request fields missing")
	}
	if q != "-" {
		q = "?" + q
	} else {
		q = ""
	}
	u := d.Child(root, "url")
	if d.Kind(u) != doc.Object {
		return stop("no url object")
	}
	d.SetString(u, "full", proto+"://"+host+path+q)
	if err := setHTTPVersion(d, "cs_protocol_version"); err != nil {
		return err
	}
	unquoteUserAgent(d)
	key, _ := str(d, root, "@log_s3key")
	if m := reCFDistID.FindStringSubmatch(key); m != nil {
		d.SetString(root, "distribution_id", m[1])
	} else {
		d.SetString(root, "distribution_id", "unknown")
	}
	dt := d.Child(root, "date_time")
	s, ok := strOf(d, dt)
	if !ok {
		return stop("date_time missing")
	}
	d.ReplaceString(dt, strings.ReplaceAll(s, "\t", " "))
	return nil
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

// cloudFrontDistributionID finds what es-loader's
// (?=[0-9]{0,13}[A-Z])[A-Z0-9]{12,14} finds: the leftmost run of 12 to 14
// upper-case letters and digits (greedy) whose first 14 characters include an
// upper-case letter. RE2 has no look-ahead, so the condition is checked here.
func cloudFrontDistributionID(s string) (string, bool) {
	isUp := func(c byte) bool { return 'A' <= c && c <= 'Z' }
	isDig := func(c byte) bool { return '0' <= c && c <= '9' }
	for i := 0; i < len(s); i++ {
		// look-ahead: up to 13 digits then an upper-case letter
		j := i
		for j < len(s) && j-i < 13 && isDig(s[j]) {
			j++
		}
		if j >= len(s) || !isUp(s[j]) {
			continue
		}
		n := 0
		for i+n < len(s) && n < 14 && (isUp(s[i+n]) || isDig(s[i+n])) {
			n++
		}
		if n >= 12 {
			return s[i : i+n], true
		}
	}
	return "", false
}

// transformCloudFrontRealtime: url.path without the query, url.full,
// http.version, URL-decoded user_agent.original, distribution_id from the
// object key.
func transformCloudFrontRealtime(tc *TransformContext) error {
	d := tc.Doc
	root := d.Root()
	p := at(d, root, "url", "path")
	ps, ok := strOf(d, p)
	if !ok {
		return stop("url.path missing")
	}
	ps, _, _ = strings.Cut(ps, "?")
	d.ReplaceString(p, ps)
	proto, ok1 := str(d, root, "cs_protocol")
	host, ok2 := str(d, root, "cs_host")
	stem, ok3 := str(d, root, "cs_uri_stem")
	if !ok1 || !ok2 || !ok3 {
		return stop("request fields missing")
	}
	d.SetString(d.Child(root, "url"), "full", proto+"://"+host+stem)
	if err := setHTTPVersion(d, "cs_protocol_version"); err != nil {
		return err
	}
	unquoteUserAgent(d)
	key, _ := str(d, root, "@log_s3key")
	if id, ok := cloudFrontDistributionID(key); ok {
		d.SetString(root, "distribution_id", id)
	} else {
		d.SetString(root, "distribution_id", "unknown")
	}
	return nil
}

var reS3Region = regexp.MustCompile(`(global|(us|ap|ca|eu|me|sa|af)-[a-zA-Z]+-[0-9])`)

// transformS3AccessLog: user.name is the last "/" part of the requester;
// cloud.region from the endpoint when not known.
func transformS3AccessLog(tc *TransformContext) error {
	d := tc.Doc
	root := d.Root()
	if n := at(d, root, "user", "name"); n != doc.Nil {
		s, ok := strOf(d, n)
		if !ok {
			return stop("user.name is not a string")
		}
		d.ReplaceString(n, s[strings.LastIndexByte(s, '/')+1:])
	}
	reg := at(d, root, "cloud", "region")
	if reg == doc.Nil {
		return stop("cloud.region missing")
	}
	if s, _ := strOf(d, reg); s == "unknown" {
		ep, ok := str(d, root, "EndPoint")
		if !ok {
			return stop("EndPoint missing")
		}
		if m := reS3Region.FindStringSubmatch(ep); m != nil {
			d.ReplaceString(reg, m[1])
		}
	}
	return nil
}
