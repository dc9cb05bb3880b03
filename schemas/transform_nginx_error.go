package schemas

import (
	"regexp"
	"strings"

	"github.com/siemstream/siemstream/internal/doc"
)

// Go transform of the nginx-error log type (es-loader's sf_nginx_error.py).

func init() {
	RegisterTransform("nginx_error", transformNginxError)
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
	setSchemeFromLogGroup(d, root, urlObj, "error")
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
