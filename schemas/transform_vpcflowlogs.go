package schemas

import (
	"strings"

	"github.com/siemstream/siemstream/internal/doc"
)

// Go transform of the vpcflowlogs log type (es-loader's sf_vpcflowlogs.py).

func init() {
	RegisterTransform("vpcflowlogs", transformVPCFlowLogs)
}

var ianaTransport = map[string]string{
	"6": "tcp", "17": "udp", "1": "icmp", "41": "ipv6", "8": "egp", "33": "dccp",
	"42": "sdrp", "47": "gre", "132": "sctp",
}

// transformVPCFlowLogs: TGW flow logs (a resource_type field) become
// @log_type transit-gateway; otherwise event.outcome from event.action;
// network.transport from the IANA protocol number; network.type lower-cased.
func transformVPCFlowLogs(tc *TransformContext) error {
	d := tc.Doc
	root := d.Root()
	if rt := d.Child(root, "resource_type"); rt != doc.Nil && d.Truthy(rt) {
		d.SetString(root, "@log_type", "transit-gateway")
	} else {
		ev := d.Child(root, "event")
		if d.Kind(ev) != doc.Object {
			return stop("no event object")
		}
		outcome := "unknown"
		if a := d.Child(ev, "action"); d.Kind(a) == doc.String {
			switch s := string(d.Bytes(a)); {
			case strings.Contains(s, "ACCEPT"):
				outcome = "success"
			case strings.Contains(s, "REJECT"):
				outcome = "failure"
			}
		}
		d.SetString(ev, "outcome", outcome)
	}
	if p := d.Child(root, "protocol"); d.Kind(p) == doc.String {
		if tr, ok := ianaTransport[string(d.Bytes(p))]; ok {
			nw := d.Child(root, "network")
			if d.Kind(nw) != doc.Object {
				return stop("no network object")
			}
			d.SetString(nw, "transport", tr)
		}
	}
	if nw := d.Child(root, "network"); d.Kind(nw) == doc.Object {
		if t := d.Child(nw, "type"); t != doc.Nil {
			if d.Kind(t) != doc.String {
				return stop("network.type is not a string")
			}
			d.ReplaceString(t, strings.ToLower(string(d.Bytes(t))))
		}
	}
	return nil
}
