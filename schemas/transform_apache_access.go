package schemas

import (
	"net/netip"
	"sort"
	"strings"

	"github.com/siemstream/siemstream/internal/doc"
	"github.com/siemstream/siemstream/internal/pystr"
)

// Go transform of the apache-access log type, shared with nginx-access
// (es-loader's sf_apache_access.py and sf_nginx_access.py).

func init() {
	RegisterTransform("apache_access", func(tc *TransformContext) error { return transformWebAccess(tc, true) })
	RegisterTransform("nginx_access", func(tc *TransformContext) error { return transformWebAccess(tc, false) })
}

func nodeStrPtr(d *doc.Doc, n doc.Node, key string) *string {
	c := d.Child(n, key)
	if s, ok := strOf(d, c); ok {
		return &s
	}
	return nil
}

// parseXFF is utils.parse_xff: the comma-separated parts that are IP
// addresses.
func parseXFF(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		p = pystr.Strip(p)
		if _, err := netip.ParseAddr(p); err == nil && !strings.Contains(p, "%") {
			out = append(out, p)
		}
	}
	return out
}

// transformWebAccess follows sf_apache_access / sf_nginx_access.
func transformWebAccess(tc *TransformContext, apache bool) error {
	d := tc.Doc
	root := d.Root()
	wd := d.NewObject()
	httpObj := d.SetObject(wd, "http")
	ev := d.SetObject(wd, "event")
	rel := d.SetObject(wd, "related")
	urlObj := d.SetObject(wd, "url")
	webOrigin(d, root, wd, rel, false) // url.domain is never set at this point
	// web_dict['http'] and ['url'] are replaced by fresh objects
	httpObj = freshObject(d, wd, "http")
	urlObj = freshObject(d, wd, "url")
	urlHTTPFromRequest(d, httpObj, urlObj, nodeStrPtr(d, root, "request_method"), nodeStrPtr(d, root, "request_path"),
		nodeStrPtr(d, root, "request_version"), nodeStrPtr(d, root, "request_raw"))
	setSchemeFromLogGroup(d, root, urlObj, "access")
	status, ok := pyIntNode(d, d.Child(root, "response_status"))
	switch {
	case ok && status != 0 && status < 400:
		d.SetString(ev, "outcome", "success")
	case ok && status != 0:
		d.SetString(ev, "outcome", "failure")
	default:
		d.SetString(ev, "outcome", "unknown")
	}
	srcIP := at(d, root, "source", "ip")
	if srcIP == doc.Nil {
		return stop("source.ip missing")
	}
	if xff, _ := str(d, root, "xff"); xff != "" {
		list := parseXFF(xff)
		httpObj = freshObject(d, wd, "http")
		hdr := d.SetObject(d.SetObject(httpObj, "request"), "header")
		l := d.SetArray(hdr, "x_forwarded_for")
		set := map[string]bool{string(d.AppendPyStr(nil, srcIP)): true}
		for _, ip := range list {
			d.AppendString(l, ip)
			set[ip] = true
		}
		ips := make([]string, 0, len(set))
		for ip := range set {
			ips = append(ips, ip)
		}
		sort.Strings(ips)
		rl := d.SetArray(rel, "ip")
		for _, ip := range ips {
			d.AppendString(rl, ip)
		}
	}
	fields := []string{"authuser", "datetime", "ident", "request_bytes", "request_method", "request_path", "request_raw",
		"request_version", "referer", "remotehost", "response_body_bytes", "response_bytes", "response_status", "useragent", "xff"}
	if !apache {
		fields = []string{"authuser", "datetime", "ident", "request_method", "request_path", "request_raw",
			"request_version", "referer", "remotehost", "response_body_bytes", "response_status", "useragent", "xff"}
	}
	for _, f := range fields {
		if !d.Delete(root, f) {
			return stop("%s missing", f) // del raises KeyError
		}
	}
	d.Merge(root, wd)
	return nil
}
