package schemas

import (
	"strconv"
	"strings"
	"time"

	"github.com/siemstream/siemstream/internal/doc"
)

// Go transform of the inspector log type (es-loader's sf_inspector.py).

func init() {
	RegisterTransform("inspector", transformInspector)
}

// transformInspector: @id is the MD5 of findingArn and the _id suffix the
// epoch seconds of updatedAt (so each update is a new document); container
// image findings lose related.hosts and cloud.instance.id; rule.id from the
// finding type; the remediation text is appended to
// vulnerability.description.
func transformInspector(tc *TransformContext) error {
	d := tc.Doc
	root := d.Root()
	arn, ok := str(d, root, "findingArn")
	if !ok {
		return stop("findingArn is not a string")
	}
	d.SetString(root, "@id", md5Hex(arn))
	upd, ok := str(d, root, "updatedAt")
	if !ok {
		return stop("updatedAt is not a string")
	}
	t, err := time.ParseInLocation("Jan 2, 2006, 3:04:05 PM", upd, time.UTC)
	if err != nil {
		return stop("updatedAt %q: %v", upd, err)
	}
	tc.DocIDSuffix = strconv.FormatInt(t.Unix(), 10)

	cat := at(d, root, "vulnerability", "category")
	switch d.Kind(cat) {
	case doc.Array:
		if arrayHasString(d, cat, "AWS_ECR_CONTAINER_IMAGE") {
			if rel := d.Child(root, "related"); d.Kind(rel) == doc.Object {
				d.Delete(rel, "hosts")
			}
			if inst := at(d, root, "cloud", "instance"); d.Kind(inst) == doc.Object {
				d.Delete(inst, "id")
			}
		}
	case doc.String:
		if s, _ := strOf(d, cat); strings.Contains(s, "AWS_ECR_CONTAINER_IMAGE") {
			if rel := d.Child(root, "related"); d.Kind(rel) == doc.Object {
				d.Delete(rel, "hosts")
			}
			if inst := at(d, root, "cloud", "instance"); d.Kind(inst) == doc.Object {
				d.Delete(inst, "id")
			}
		}
	default:
		return stop("vulnerability.category missing")
	}

	typ, ok := str(d, root, "type")
	if !ok {
		return stop("type is not a string")
	}
	switch {
	case strings.Contains(typ, "PACKAGE_VULNERABILITY"):
		rule := d.Child(root, "rule")
		vid := at(d, root, "vulnerability", "id")
		if d.Kind(rule) != doc.Object || vid == doc.Nil {
			return stop("rule or vulnerability.id missing")
		}
		d.SetString(rule, "id", "PACKAGE_VULNERABILITY_"+string(d.AppendPyStr(nil, vid)))
	case strings.Contains(typ, "NETWORK_REACHABILITY"):
		det := d.Child(root, "networkReachabilityDetails")
		proto, begin, end := at(d, det, "protocol"), at(d, det, "openPortRange", "begin"), at(d, det, "openPortRange", "end")
		rule := d.Child(root, "rule")
		if proto == doc.Nil || begin == doc.Nil || end == doc.Nil || d.Kind(rule) != doc.Object {
			return stop("networkReachabilityDetails incomplete")
		}
		d.SetString(rule, "id", "NETWORK_REACHABILITY_"+string(d.AppendPyStr(nil, proto))+"_"+
			string(d.AppendPyStr(nil, begin))+"_"+string(d.AppendPyStr(nil, end)))
	}
	if desc := d.Child(root, "description"); d.Truthy(desc) {
		rem := at(d, root, "remediation", "recommendation", "text")
		vuln := d.Child(root, "vulnerability")
		if rem != doc.Nil && d.Kind(vuln) == doc.Object {
			d.SetString(vuln, "description", string(d.AppendPyStr(nil, desc))+"\n\nRemediation: "+string(d.AppendPyStr(nil, rem)))
		}
	}
	return nil
}

func arrayHasString(d *doc.Doc, arr doc.Node, s string) bool {
	for c := d.First(arr); c != doc.Nil; c = d.Next(c) {
		if v, ok := strOf(d, c); ok && v == s {
			return true
		}
	}
	return false
}
