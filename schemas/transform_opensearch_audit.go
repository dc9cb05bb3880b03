package schemas

import "github.com/siemstream/siemstream/internal/doc"

// Go transform of the opensearch-audit log type (es-loader's
// sf_opensearch_audit.py).

func init() {
	RegisterTransform("opensearch_audit", transformOpenSearchAudit)
}

// transformOpenSearchAudit: event.outcome from audit_category;
// "authentication" added to event.category for logins; rule.name
// "ParsingError" (and an error message for truncated records) when the
// record had none.
func transformOpenSearchAudit(tc *TransformContext) error {
	d := tc.Doc
	root := d.Root()
	ev := d.Child(root, "event")
	action, _ := str(d, root, "audit_category")
	switch {
	case strIn(action, "GRANTED_PRIVILEGES", "AUTHENTICATED"):
		d.SetString(ev, "outcome", "success")
	case strIn(action, "MISSING_PRIVILEGES", "FAILED_LOGIN"):
		d.SetString(ev, "outcome", "failure")
	default:
		d.SetString(ev, "outcome", "unknown")
	}
	if strIn(action, "FAILED_LOGIN", "AUTHENTICATED") {
		cat := d.Child(ev, "category")
		if d.Kind(cat) != doc.Array {
			return stop("event.category is not a list")
		}
		d.AppendString(cat, "authentication")
	}
	if !d.Truthy(at(d, root, "rule", "name")) {
		rule := objectAt(d, root, "rule")
		d.SetString(rule, "name", "ParsingError")
		if msg, _ := str(d, root, "@message"); utf8RuneCount(msg) == 10000 {
			e := objectAt(d, root, "error")
			d.SetString(e, "message", "The maximum size of each audit log message is 10,000 characters. "+
				"The audit log message exceeds this limit and is truncated.")
		}
	}
	return nil
}

func utf8RuneCount(s string) int { return len([]rune(s)) }
