package schemas

import "strings"

// Go transform of the cloudfront-realtime log type (es-loader's
// sf_cloudfront_realtime.py).

func init() {
	RegisterTransform("cloudfront_realtime", transformCloudFrontRealtime)
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
