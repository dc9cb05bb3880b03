package schemas

import (
	"strings"

	"github.com/siemstream/siemstream/internal/doc"
)

// Go transform of the networkfirewall log type (es-loader's
// sf_networkfirewall.py).

func init() {
	RegisterTransform("networkfirewall", transformNetworkFirewall)
}

// transformNetworkFirewall: network.transport is event.proto lower-cased
// (when the document has a network object); alert records become
// event.kind "alert", event.category "intrusion_detection".
func transformNetworkFirewall(tc *TransformContext) error {
	d := tc.Doc
	root := d.Root()
	ev := d.Child(root, "event")
	// try: network.transport = event.proto.lower() except KeyError: only a
	// missing key is caught; a proto that is not a string (AttributeError)
	// or a non-dict on the way (TypeError) stops the script.
	if ev != doc.Nil {
		proto, e := pySub(d, ev, "proto")
		if e == pyTypeError {
			return stop("event is not a dict")
		}
		if e == pyFound {
			p, ok := strOf(d, proto)
			if !ok {
				return stop("event.proto is not a string")
			}
			switch nw := d.Child(root, "network"); {
			case nw == doc.Nil: // KeyError: caught
			case d.Kind(nw) != doc.Object:
				return stop("network is not a dict")
			default:
				d.SetString(nw, "transport", strings.ToLower(p))
			}
		}
	}
	t := at(d, ev, "event_type")
	if t == doc.Nil {
		return stop("event.event_type missing")
	}
	if s, _ := strOf(d, t); s == "alert" {
		d.SetString(ev, "kind", "alert")
		d.SetString(ev, "category", "intrusion_detection")
	}
	return nil
}
