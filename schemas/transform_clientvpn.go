package schemas

import (
	"strings"

	"github.com/siemstream/siemstream/internal/doc"
)

// Go transform of the clientvpn log type (es-loader's sf_clientvpn.py).

func init() {
	RegisterTransform("clientvpn", transformClientVPN)
}

// transformClientVPN: event.outcome from the attempt status; error.message
// from the failure reason; "NA" times and client-ip removed; network.bytes
// and packets (egress + ingress); times made ISO 8601; event.duration in ns.
func transformClientVPN(tc *TransformContext) error {
	d := tc.Doc
	root := d.Root()
	ev := d.Child(root, "event")
	get := func(k string) (string, bool) { return str(d, root, k) }
	switch s, _ := get("connection-attempt-status"); s {
	case "successful":
		d.SetString(ev, "outcome", "success")
	case "failed":
		d.SetString(ev, "outcome", "failure")
	}
	if reason := d.Child(root, "connection-attempt-failure-reason"); !(d.Kind(reason) == doc.String && d.Text(reason) == "NA") {
		if reason == doc.Nil {
			return stop("connection-attempt-failure-reason missing")
		}
		e := freshObject(d, root, "error")
		d.SetCopy(e, "message", reason)
	}
	if s, _ := get("client-ip"); s == "NA" {
		d.Delete(root, "client-ip")
	}
	var bytes, packets int64
	for _, k := range []string{"egress-bytes", "ingress-bytes", "egress-packets", "ingress-packets"} {
		n := d.Child(root, k)
		if n == doc.Nil {
			continue
		}
		v, ok := pyIntNode(d, n)
		if !ok {
			return stop("%s is not an integer", k)
		}
		if strings.HasSuffix(k, "bytes") {
			bytes += v
		} else {
			packets += v
		}
	}
	if bytes != 0 || packets != 0 {
		nw := freshObject(d, root, "network")
		d.SetInt(nw, "bytes", bytes)
		d.SetInt(nw, "packets", packets)
	}
	for _, k := range []string{"connection-start-time", "connection-end-time"} {
		n := d.Child(root, k)
		s, _ := strOf(d, n)
		if s == "NA" {
			d.Delete(root, k)
		} else if d.Truthy(n) {
			d.ReplaceString(n, strings.ReplaceAll(s, " ", "T")+"+00:00")
		}
	}
	last := d.Child(root, "connection-last-update-time")
	s, ok := strOf(d, last)
	if !ok {
		return stop("connection-last-update-time missing")
	}
	d.ReplaceString(last, strings.ReplaceAll(s, " ", "T")+"+00:00")
	if dur := d.Child(root, "connection-duration-seconds"); !(d.Kind(dur) == doc.String && d.Text(dur) == "NA") {
		v, ok := pyIntNode(d, dur)
		if !ok {
			return stop("connection-duration-seconds is not an integer")
		}
		d.SetInt(ev, "duration", v*1000*1000*1000)
	}
	return nil
}
