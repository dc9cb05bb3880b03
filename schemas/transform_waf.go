package schemas

import (
	"strings"

	"github.com/siemstream/siemstream/internal/doc"
)

// Go transform of the waf log type (es-loader's sf_waf.py).

func init() {
	RegisterTransform("waf", transformWAF)
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
