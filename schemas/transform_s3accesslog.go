package schemas

import (
	"regexp"
	"strings"

	"github.com/siemstream/siemstream/internal/doc"
)

// Go transform of the s3accesslog log type (es-loader's sf_s3accesslog.py).

func init() {
	RegisterTransform("s3accesslog", transformS3AccessLog)
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
