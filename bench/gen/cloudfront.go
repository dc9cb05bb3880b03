package gen

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"strings"
	"time"
)

// ---- CloudFront standard access logs (tab-separated, 33 fields) ----

type cloudfront struct{ r *rand.Rand }

func (*cloudfront) Name() string { return "cloudfront" }

// Key is CloudFront's default log name, <distribution>.<YYYY-MM-DD-HH>.<8 hex>.gz,
// under a user-chosen prefix.
func (c *cloudfront) Key(t0 time.Time, seq int) string {
	return fmt.Sprintf("cloudfront/E2ABCDEFGHIJK1.%s.%08x.gz", t0.UTC().Format("2006-01-02-15"), uint32(seq)^c.r.Uint32())
}

const cloudfrontHeader = "#Version: 1.0\n#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version fle-status fle-encrypted-fields c-port time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len sc-range-start sc-range-end\n"

var (
	cfEdges   = []string{"NRT57-P2", "IAD89-C1", "LHR61-P3", "FRA56-C2", "SFO53-P6", "SIN2-C1"}
	cfPaths   = []string{"/", "/index.html", "/assets/app.4f3c2a.js", "/assets/site.css", "/images/logo.png", "/api/v1/items", "/favicon.ico", "/wp-admin/setup-config.php"}
	cfQueries = []string{"-", "-", "-", "id=42", "utm_source=newsletter&utm_medium=email", "q=%3Cscript%3E"}
	cfResults = []string{"Hit", "Hit", "Hit", "Miss", "RefreshHit", "Error"}
	cfTypes   = []string{"text/html", "application/javascript", "text/css", "image/png", "application/json"}
)

func (c *cloudfront) Write(w io.Writer, n int, t0 time.Time) error {
	r := c.r
	if _, err := io.WriteString(w, cloudfrontHeader); err != nil {
		return err
	}
	var b []byte
	encodedUA := make([]string, len(userAgents))
	for i, ua := range userAgents {
		encodedUA[i] = strings.ReplaceAll(url.PathEscape(ua), "%2F", "/")
	}
	for i := range n {
		b = b[:0]
		ts := t0.Add(time.Duration(i) * 3 * time.Millisecond).UTC()
		status := []int{200, 200, 200, 200, 304, 403, 404, 502}[r.IntN(8)]
		result := cfResults[r.IntN(len(cfResults))]
		if status >= 400 {
			result = "Error"
		}
		path := cfPaths[r.IntN(len(cfPaths))]
		ctype := cfTypes[r.IntN(len(cfTypes))]
		size := 300 + r.IntN(200000)
		method := []string{"GET", "GET", "GET", "HEAD", "POST"}[r.IntN(5)]
		referer := "-"
		if r.IntN(3) == 0 {
			referer = "https://www.example.com/"
		}
		client := publicIP(r)
		if r.IntN(20) == 0 {
			client = fmt.Sprintf("2001:db8:%x::%x", r.IntN(0xffff), 1+r.IntN(0xfffe))
		}
		taken := float64(1+r.IntN(900)) / 1000
		b = fmt.Appendf(b, "%s\t%s\t%s\t%d\t%s\t%s\td111111abcdef8.cloudfront.net\t%s\t%d\t%s\t%s\t%s\t-\t%s\t%s==\twww.example.com\thttps\t%d\t%.3f\t-\tTLSv1.3\tTLS_AES_128_GCM_SHA256\t%s\tHTTP/2.0\t-\t-\t%d\t%.3f\t%s\t%s\t%d\t-\t-\n",
			ts.Format("2006-01-02"), ts.Format("15:04:05"), cfEdges[r.IntN(len(cfEdges))], size+400, client, method,
			path, status, referer, encodedUA[r.IntN(len(encodedUA))], cfQueries[r.IntN(len(cfQueries))],
			result, alnum(r, 54), 200+r.IntN(900), taken, result, 1024+r.IntN(64000), taken*0.8, result, ctype, size)
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}
