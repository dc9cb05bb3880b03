package schemas

import (
	"strings"

	"github.com/siemstream/siemstream/internal/doc"
)

// Go transform of the trustedadvisor log type (es-loader's
// sf_trustedadvisor.py).

func init() {
	RegisterTransform("trustedadvisor", transformTrustedAdvisor)
}

// transformTrustedAdvisor: event.kind alert for warning/error results;
// cloud.service.name, cloud.instance.id, event.category and related.* from
// the flagged resource's metadata.
func transformTrustedAdvisor(tc *TransformContext) error {
	d := tc.Doc
	root := d.Root()
	ev := d.Child(root, "event")
	status, ok := str(d, root, "result", "status")
	if !ok || d.Kind(ev) != doc.Object {
		return stop("result.status missing")
	}
	if strIn(status, "warning", "error") {
		d.SetString(ev, "kind", "alert")
	}
	fr := at(d, root, "result", "flaggedResource")
	if fr == doc.Nil {
		return nil
	}
	frs, ok := str(d, fr, "status")
	if !ok {
		return stop("flaggedResource.status missing")
	}
	if strIn(frs, "warning", "error") {
		d.SetString(ev, "kind", "alert")
	} else {
		d.SetString(ev, "kind", "event")
	}
	meta := d.Child(fr, "metadata")
	if meta == doc.Nil {
		return nil
	}
	service := "trustedadvisor"
	var arnList []string
	if cm := at(d, root, "check", "metadata"); cm != doc.Nil {
		var checkMeta, resMeta []string
		for c := d.First(cm); c != doc.Nil; c = d.Next(c) {
			s, _ := strOf(d, c)
			checkMeta = append(checkMeta, s)
		}
		for c := d.First(meta); c != doc.Nil; c = d.Next(c) {
			s, _ := strOf(d, c)
			resMeta = append(resMeta, s)
		}
		idx := func(k string) int {
			for i, s := range checkMeta {
				if s == k {
					return i
				}
			}
			return -1
		}
		service = ""
		arn := ""
		if i := idx("Service"); i >= 0 {
			if i >= len(resMeta) {
				return stop("metadata too short")
			}
			service = strings.ToLower(resMeta[i])
		}
		for _, k := range []string{"Resource", "Workload ARN"} {
			if i := idx(k); i >= 0 {
				if i >= len(resMeta) {
					return stop("metadata too short")
				}
				arn = resMeta[i]
			}
		}
		arnList = strings.Split(arn, ":")
		if len(arnList) > 2 {
			service = strings.ToLower(arnList[2])
		}
	}
	cloud := d.Child(root, "cloud")
	if d.Kind(cloud) != doc.Object {
		return stop("no cloud object")
	}
	svc := freshObject(d, cloud, "service")
	d.SetString(svc, "name", service)
	if len(arnList) > 5 && service == "ec2" {
		if rt := strings.Split(arnList[5], "/"); len(rt) > 1 {
			service = rt[0]
			if service == "instance" {
				service = "ec2"
				inst := freshObject(d, cloud, "instance")
				d.SetString(inst, "id", rt[1])
			}
			d.SetString(svc, "name", service)
		}
	}
	switch {
	case strIn(service, "rds", "dynamodb", "s3", "ebs", "redshift", "elasticache"):
		d.SetString(ev, "category", "database")
	case strIn(service, "iam", "cloudtrail"):
		d.SetString(ev, "category", "iam")
	case strIn(service, "vpc", "route53", "elasticloadbalancing", "network-acl", "subnet", "secuirty-group"):
		d.SetString(ev, "category", "network")
	}
	rel := freshObject(d, root, "related")
	for c := d.First(meta); c != doc.Nil; c = d.Next(c) {
		s, ok := strOf(d, c)
		if !ok {
			continue
		}
		if !pyIPAddress(s) {
			continue
		}
		l := d.SetArray(rel, "ip")
		d.AppendString(l, s)
	}
	if id, ok := str(d, cloud, "instance", "id"); ok && id != "" {
		l := d.SetArray(rel, "hosts")
		d.AppendString(l, id)
	}
	return nil
}
