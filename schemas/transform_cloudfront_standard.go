package schemas

import (
	"regexp"
	"strings"

	"github.com/siemstream/siemstream/internal/doc"
)

// Go transform of the cloudfront-standard log type (es-loader's
// sf_cloudfront_standard.py).

func init() {
	RegisterTransform("cloudfront_standard", transformCloudFrontStandard)
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
