package schemas

import (
	"github.com/siemstream/siemstream/internal/doc"
)

// Go transform of the apache-error log type (es-loader's
// sf_apache_error.py).

func init() {
	RegisterTransform("apache_error", transformApacheError)
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
	setSchemeFromLogGroup(d, root, urlObj, "error")
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
