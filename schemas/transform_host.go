package schemas

import (
	"net/netip"
	"regexp"
	"sort"
	"strings"

	"github.com/siemstream/siemstream/internal/doc"
	"github.com/siemstream/siemstream/internal/pystr"
)

// Go transforms for logs shipped from hosts through CloudWatch Logs:
// linux-os-syslog, linux-secure, apache-access, apache-error, nginx-access,
// nginx-error (es-loader's sf_linux_*, sf_apache_*, sf_nginx_*).

func init() {
	RegisterTransform("linux_os_syslog", func(tc *TransformContext) error { return transformLinux(tc, true) })
	RegisterTransform("linux_secure", func(tc *TransformContext) error { return transformLinux(tc, false) })
	RegisterTransform("apache_access", func(tc *TransformContext) error { return transformWebAccess(tc, true) })
	RegisterTransform("nginx_access", func(tc *TransformContext) error { return transformWebAccess(tc, false) })
	RegisterTransform("apache_error", transformApacheError)
	RegisterTransform("nginx_error", transformNginxError)
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

// sshd and sudo messages, tried in order (first match wins).
var (
	reSSHD = []*regexp.Regexp{
		mustPy("sshd", `(?P<action>Accepted|Failed|failure|Invalid user|invalid user)\s.*?((publickey|password|none) for )?(invalid user )?(?P<user>\S+)(\s+from.*?(?P<source_ip>\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}))?(\s+port\s+(?P<source_port>\d+))?`),
		mustPy("sshd", `^(?P<action>(Disconnected|Received disconnect)) from (?P<source_ip>[^ ]*) port (?P<source_port>\d+)`),
		mustPy("sshd", `^(?P<action>error): AuthorizedKeysCommand \S+ (?P<user>\S+) (SHA|RSA)`),
		mustPy("sshd", `^pam_unix(\S+): (?P<action>session closed) for user (?P<user>\S+)`),
		mustPy("sshd", `^pam_unix(\S+): (?P<action>session opened) for user \S+ by (?P<user>\S*)\(`),
		mustPy("sshd", `^(?P<action>Connection (reset|closed))\s+by\s+(?P<source_ip>\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})\s+port\s+(?P<source_port>\d+)`),
		mustPy("sshd", `.+\s+(from|with)\s+(?P<source_ip>\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})\s+port\s+(?P<source_port>\d+)`),
		mustPy("sshd", `^(?P<action>reverse mapping checking).*\[(?P<source_ip>\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})\]`),
		mustPy("sshd", `\s(?P<source_ip>\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})\s`),
	}
	reSudo = []*regexp.Regexp{
		mustPy("sudo", `^(?P<user>\S+) : .*COMMAND=(?P<action>.*)`),
		mustPy("sudo", `^pam_unix(\S+): (?P<action>session closed) for user (?P<user>\S+)`),
		mustPy("sudo", `^pam_unix(\S+): (?P<action>session opened) for user \S+ by (?P<user>\S*)\(`),
	}
)

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

// transformLinux follows sf_linux_os_syslog (and sf_linux_secure, which
// does the same without changing the index): the EC2 instance id from the
// log stream; sshd messages give event.action/category/outcome, user.name,
// source.ip/port and event.module "secure"; sudo messages the command and
// user; related.user/ip. For syslog, sshd, sudo and su lines go to
// log-linux-secure.
func transformLinux(tc *TransformContext, reroute bool) error {
	d := tc.Doc
	root := d.Root()
	proc, _ := str(d, root, "proc")
	ld := d.NewObject()
	if id := instanceIDFromText(strOr(d, root, "@log_stream")); id != "" {
		host := d.Child(root, "hostname")
		if host == doc.Nil {
			return stop("hostname missing")
		}
		d.SetString(d.SetObject(d.SetObject(ld, "cloud"), "instance"), "id", id)
		h := d.SetArray(d.SetObject(ld, "related"), "hosts")
		d.AppendCopy(h, host)
		d.AppendString(h, id)
	}
	msg := func() (string, error) {
		s, ok := str(d, root, "syslog_message")
		if !ok {
			return "", stop("syslog_message missing")
		}
		return s, nil
	}
	// secure: an sshd or sudo record, which es-loader files under
	// linux-secure (event.module secure), matched with res.
	secure := func(res []*regexp.Regexp) (doc.Node, map[string]*string, error) {
		if reroute {
			tc.IndexName = "log-linux-secure"
		}
		s, err := msg()
		if err != nil {
			return doc.Nil, nil, err
		}
		ev := d.SetObject(ld, "event")
		d.SetString(ev, "module", "secure")
		return ev, pyGroups(res, s), nil
	}
	var user, srcIP, srcPort *string
	var hasUser, hasSource bool
	switch {
	case strings.Contains(proc, "sshd"):
		ev, g, err := secure(reSSHD)
		if err != nil {
			return err
		}
		if u, ok := g["user"]; ok {
			user, hasUser = u, true
		}
		if ip, ok := g["source_ip"]; ok {
			srcIP, hasSource = ip, true
			empty := ""
			srcPort = &empty
			if p, ok := g["source_port"]; ok {
				srcPort = p
			}
		}
		if a, ok := g["action"]; ok {
			d.SetString(ev, "category", "authentication")
			if a == nil {
				return stop("action is None")
			}
			d.SetString(ev, "action", *a)
			act := strings.ToLower(*a)
			switch {
			case strings.Contains(act, "accept") || strings.Contains(act, "opened"):
				d.SetString(ev, "outcome", "success")
			case strings.Contains(act, "fail") || strings.Contains(act, "invalid") || strings.Contains(act, "err"):
				d.SetString(ev, "outcome", "failure")
			case strings.Contains(act, "disconnect") || strings.Contains(act, "reset") || strings.Contains(act, "close"):
			default:
				d.SetString(ev, "outcome", "unknown")
			}
		}
	case strings.Contains(proc, "sudo"):
		ev, g, err := secure(reSudo)
		if err != nil {
			return err
		}
		if u, ok := g["user"]; ok {
			user, hasUser = u, true
		}
		if a, ok := g["action"]; ok {
			ev = freshObject(d, ld, "event") // replaced: module is dropped
			if a == nil {
				d.SetNull(ev, "action")
			} else {
				d.SetString(ev, "action", *a)
			}
			d.SetString(ev, "outcome", "success")
		}
	case proc == "su" && reroute:
		tc.IndexName = "log-linux-secure"
	}
	if hasUser {
		setOptString(d, d.SetObject(ld, "user"), "name", user)
	}
	if hasSource {
		src := d.SetObject(ld, "source")
		setOptString(d, src, "ip", srcIP)
		setOptString(d, src, "port", srcPort)
	}
	// extract_related_ip_user: plain values, not lists
	rel := d.Child(ld, "related")
	if rel == doc.Nil {
		rel = d.SetObject(ld, "related")
	}
	if hasUser {
		setOptString(d, rel, "user", user)
	}
	if hasSource {
		setOptString(d, rel, "ip", srcIP)
	}
	d.Merge(root, ld)
	return nil
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
	lg := strOr(d, root, "@log_group")
	switch {
	case lg != "" && strings.Contains(lg, "ssl"):
		d.SetString(urlObj, "scheme", "https")
	case lg != "" && strings.Contains(lg, "access"):
		d.SetString(urlObj, "scheme", "http")
	}
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

var reApacheReferer = mustPy("referer", `referer:\s*(http[^ ]*)`)

// transformApacheError follows sf_apache_error.
func transformApacheError(tc *TransformContext) error {
	d := tc.Doc
	root := d.Root()
	wd := d.NewObject()
	ev := d.SetObject(wd, "event")
	rel := d.SetObject(wd, "related")
	urlObj := d.SetObject(wd, "url")
	webOrigin(d, root, wd, rel, true)
	if msg, _ := str(d, root, "message"); msg != "" {
		if m := reApacheReferer.FindStringSubmatch(msg); m != nil {
			d.SetString(d.SetObject(d.SetObject(wd, "http"), "request"), "referrer", m[1])
		}
	}
	lg := strOr(d, root, "@log_group")
	switch {
	case lg != "" && strings.Contains(lg, "ssl"):
		d.SetString(urlObj, "scheme", "https")
	case lg != "" && strings.Contains(lg, "error"):
		d.SetString(urlObj, "scheme", "http")
	}
	lvl := d.Child(root, "log_level")
	if lvl == doc.Nil {
		return stop("log_level missing")
	}
	switch s, _ := strOf(d, lvl); {
	case s == "info":
		d.SetString(ev, "type", "info")
	case strIn(s, "emerg", "alert", "crit", "error", "warn"):
		d.SetString(ev, "type", "error")
	}
	for _, f := range []string{"client_ip", "client_port", "datetime", "debug_message", "log_level", "message", "message_code", "module", "pid", "tid"} {
		if !d.Delete(root, f) {
			return stop("%s missing", f)
		}
	}
	d.Merge(root, wd)
	return nil
}

var reNginxMessage = mustPy("nginx", `client: (?P<client_ip>[0-9a-f.:]+), server: (-|(?P<server>[^ ]*?))(?:, request: "((?P<request_method>[^ ]+) (?P<request_path>[^ ]+) HTTP/(?P<request_version>[^ ]+)|(?P<request_raw>.*?))")?(?:, upstream: "(?P<upstream>.+?)")?(?:, host: "(?P<host>[^ ]+?)")?(?:, referrer: "(?P<referrer>[^ ]+?)")?$`)

// transformNginxError follows sf_nginx_error.
func transformNginxError(tc *TransformContext) error {
	d := tc.Doc
	root := d.Root()
	wd := d.NewObject()
	d.SetObject(wd, "event")
	rel := d.SetObject(wd, "related")
	urlObj := d.SetObject(wd, "url")
	webOrigin(d, root, wd, rel, true)
	if msg, _ := str(d, root, "message"); msg != "" {
		if g := pyGroups([]*regexp.Regexp{reNginxMessage}, msg); g != nil {
			if host := g["host"]; host != nil && *host != "" {
				switch parts := strings.Split(*host, ":"); len(parts) {
				case 1:
					d.SetString(urlObj, "domain", parts[0])
				case 2:
					d.SetString(wd, "domain", parts[0])
					d.SetString(wd, "port", parts[1])
				}
			}
			httpObj := d.SetObject(wd, "http")
			u := d.NewObject()
			urlHTTPFromRequest(d, httpObj, u, g["request_method"], g["request_path"], g["request_version"], g["request_raw"])
			d.Merge(urlObj, u) // {**web_dict['url'], **url}
			if ip := g["client_ip"]; ip != nil && *ip != "" {
				src := freshObject(d, wd, "source")
				d.SetString(src, "ip", *ip)
				d.SetString(src, "address", *ip)
			}
			if r := g["referrer"]; r != nil && *r != "" {
				req := d.Child(httpObj, "request")
				if req == doc.Nil {
					return stop("http.request missing") // KeyError in the script
				}
				d.SetString(req, "referrer", *r)
			}
			setOptString(d, rel, "ip", g["client_ip"])
		}
	}
	lg := strOr(d, root, "@log_group")
	switch {
	case lg != "" && strings.Contains(lg, "ssl"):
		d.SetString(urlObj, "scheme", "https")
	case lg != "" && strings.Contains(lg, "error"):
		d.SetString(urlObj, "scheme", "http")
	}
	if c := d.Child(root, "connection_id"); d.Truthy(c) {
		d.SetCopy(d.SetObject(d.SetObject(wd, "nginx"), "error"), "connection_id", c)
	}
	for _, f := range []string{"connection_id", "datetime", "message", "process_id", "thread_id", "severity"} {
		if !d.Delete(root, f) {
			return stop("%s missing", f)
		}
	}
	d.Merge(root, wd)
	return nil
}
