package schemas

import (
	"strings"

	"github.com/siemstream/siemstream/internal/doc"
)

// Go transform of the route53resolver log type (es-loader's
// sf_route53resolver.py).

func init() {
	RegisterTransform("route53resolver", transformRoute53Resolver)
}

// transformRoute53Resolver: final dots removed from dns.question.name and
// dns.answers.data.
func transformRoute53Resolver(tc *TransformContext) error {
	d := tc.Doc
	root := d.Root()
	for _, p := range [][]string{{"dns", "question", "name"}, {"dns", "answers", "data"}} {
		n := at(d, root, p...)
		if n == doc.Nil {
			continue
		}
		s, ok := strOf(d, n)
		if !ok {
			return stop("%s is not a string", strings.Join(p, "."))
		}
		d.ReplaceString(n, strings.TrimRight(s, "."))
	}
	return nil
}
