package schemas

import (
	"strings"

	"github.com/siemstream/siemstream/internal/doc"
)

// Go transform of the alb log type, shared with clb (es-loader's sf_alb.py
// and sf_clb.py).

func init() {
	RegisterTransform("alb", transformELBURL)
	RegisterTransform("clb", transformELBURL)
}

// transformELBURL: url.full is the second space-separated word of the
// request line (ALB, CLB).
func transformELBURL(tc *TransformContext) error {
	d := tc.Doc
	root := d.Root()
	url := d.Child(root, "url")
	req := d.Child(root, "request")
	if url == doc.Nil || req == doc.Nil {
		return nil // KeyError, caught by the script (clb) or by es-loader (alb)
	}
	if d.Kind(req) != doc.String || d.Kind(url) != doc.Object {
		return stop("request/url of unexpected type")
	}
	parts := strings.SplitN(string(d.Bytes(req)), " ", 3)
	if len(parts) < 2 {
		return stop("request line has no URL")
	}
	d.SetString(url, "full", parts[1])
	return nil
}
