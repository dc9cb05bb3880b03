package schemas

import (
	"regexp"
	"strings"

	"github.com/siemstream/siemstream/internal/doc"
)

// Go transform of the cloudtrail log type (es-loader's sf_cloudtrail.py).

func init() {
	RegisterTransform("cloudtrail", transformCloudTrail)
}

var reInstanceIDStart = regexp.MustCompile(`^(?:[^\p{L}\p{N}_]|_|^)i-(?:[0-9a-z]{8}|[0-9a-z]{17})(?:[^\p{L}\p{N}_]|_|$)`)

// pyGet returns obj[key] like dict.get: Nil when missing; ok=false when obj
// is not an object (Python would raise AttributeError/TypeError).
func pyGet(d *doc.Doc, obj doc.Node, key string) (doc.Node, bool) {
	if d.Kind(obj) != doc.Object {
		return doc.Nil, false
	}
	return d.Child(obj, key), true
}

// child2 is logdata[a][b] with KeyError/TypeError reported as Nil.
func child2(d *doc.Doc, a, b string) doc.Node {
	x := d.Child(d.Root(), a)
	if d.Kind(x) != doc.Object {
		return doc.Nil
	}
	return d.Child(x, b)
}

// convertTextIntoDict follows sf_cloudtrail.convert_text_into_dict for the
// value held by member n (replaced in place).
func convertTextIntoDict(d *doc.Doc, n doc.Node) {
	switch d.Kind(n) {
	case doc.Object:
		return
	case doc.String:
		v := d.Bytes(n)
		o := d.NewObject()
		d.SetStringBytes(o, "value", v)
		d.Replace(n, o)
		return
	case doc.Array:
		f := d.First(n)
		switch {
		case f == doc.Nil:
			d.Replace(n, d.NewObject())
			return
		case d.Kind(f) == doc.String:
			o := d.NewObject()
			d.SetCopy(o, "value", n)
			d.Replace(n, o)
			return
		case d.Kind(f) == doc.Object:
			return
		}
	}
	o := d.NewObject()
	d.SetStringBytes(o, "value", d.AppendPyRepr(nil, n))
	d.Replace(n, o)
}

// wrapString replaces a non-empty string member n by {key: string}.
func wrapString(d *doc.Doc, n doc.Node, key string) {
	if s, ok := strOf(d, n); ok && s != "" {
		o := d.NewObject()
		d.SetString(o, key, s)
		d.Replace(n, o)
	}
}

func transformCloudTrail(tc *TransformContext) error {
	d := tc.Doc
	root := d.Root()
	ev := d.Child(root, "event")
	if d.Kind(ev) != doc.Object {
		return stop("no event object")
	}
	if d.Child(root, "errorCode") != doc.Nil || d.Child(root, "errorMessage") != doc.Nil {
		d.SetString(ev, "outcome", "failure")
	} else {
		d.SetString(ev, "outcome", "success")
	}
	if user := d.Child(root, "user"); user != doc.Nil {
		if d.Kind(user) != doc.Object {
			return stop("user is not an object")
		}
		if name := d.Child(user, "name"); name != doc.Nil {
			s, ok := strOf(d, name)
			if !ok {
				return stop("user.name is not a string")
			}
			if strings.Contains(s, ":") {
				s = s[strings.LastIndexByte(s, ':')+1:]
				s = s[strings.LastIndexByte(s, '/')+1:]
				d.ReplaceString(name, s)
			}
		}
	}
	if err := cloudTrailInstanceID(d); err != nil {
		return err
	}

	if cred := child2(d, "responseElements", "credentials"); cred != doc.Nil {
		if s, ok := strOf(d, cred); ok {
			o := d.NewObject()
			if strings.Contains(s, "arn:aws:iam") || strings.Contains(s, "arn:aws-cn:iam") || strings.Contains(s, "arn:aws-us-gov:iam") {
				d.SetString(o, "iam", s)
			} else {
				d.SetString(o, "value", s)
			}
			d.Replace(cred, o)
		}
	}
	if n := child2(d, "requestParameters", "tags"); n != doc.Nil {
		convertTextIntoDict(d, n)
	}
	if n := child2(d, "responseElements", "policy"); n != doc.Nil {
		convertTextIntoDict(d, n)
	}
	for _, k := range []string{"disableApiTermination", "disableApiStop"} {
		if n := child2(d, "requestParameters", k); d.Kind(n) == doc.Object {
			if v := d.Child(n, "value"); v != doc.Nil {
				d.Replace(n, v)
			}
		}
	}
	if n := child2(d, "responseElements", "status"); n != doc.Nil {
		wrapString(d, n, "status")
	}

	esNode := d.Child(root, "eventSource")
	if !d.Truthy(esNode) {
		return nil
	}
	es, ok := strOf(d, esNode)
	if !ok {
		return stop("eventSource is not a string")
	}
	in := func(lit string) bool { return strings.Contains(lit, es) } // Python `x in ('lit')`
	switch {
	case es == "athena.amazonaws.com":
		if list := child2(d, "responseElements", "tableMetadataList"); d.Truthy(list) {
			if d.Kind(list) != doc.Array {
				return stop("tableMetadataList is not a list")
			}
			for tm := d.First(list); tm != doc.Nil; tm = d.Next(tm) {
				if err := renameParam(d, tm, "projection.date.interval.unit", "projection.date.interval_unit"); err != nil {
					return err
				}
			}
		}
		if tm := child2(d, "responseElements", "tableMetadata"); d.Truthy(tm) {
			if err := renameParam(d, tm, "projection.part_date.interval.unit", "projection.part_date.interval_unit"); err != nil {
				return err
			}
		}
	case es == "glue.amazonaws.com":
		wrapString(d, child2(d, "requestParameters", "configuration"), "text")
	case es == "cognito-idp.amazonaws.com":
		wrapString(d, child2(d, "responseElements", "session"), "value")
	case es == "ecs.amazonaws.com":
		wrapString(d, child2(d, "requestParameters", "command"), "command")
	case es == "ssm.amazonaws.com" || es == "sqlworkbench.amazonaws.com":
		wrapString(d, child2(d, "requestParameters", "parameters"), "value")
	case in("redshift-data.amazonaws.com"):
		wrapString(d, child2(d, "responseElements", "database"), "name")
	case in("cloud9.amazonaws.com"):
		wrapString(d, child2(d, "requestParameters", "settings"), "value")
	case in("s3.amazonaws.com"):
		rules := doc.Nil
		if rc := child2(d, "requestParameters", "ReplicationConfiguration"); d.Kind(rc) == doc.Object {
			rules = d.Child(rc, "Rule")
		}
		if d.Kind(rules) == doc.Array && d.Truthy(rules) {
			for r := d.First(rules); r != doc.Nil; r = d.Next(r) {
				f, ok := pyGet(d, r, "Filter")
				if !ok {
					return stop("replication rule is not an object")
				}
				if f != doc.Nil && d.Truthy(f) {
					d.ReplaceStringBytes(f, d.AppendPyStr(nil, f))
				}
			}
		}
	case in("inspector2.amazonaws.com"):
		ids := child2(d, "requestParameters", "accountIds")
		if d.Kind(ids) == doc.Array && d.Truthy(ids) && d.Kind(d.First(ids)) == doc.Object {
			d.ReplaceStringBytes(ids, d.AppendPyRepr(nil, ids))
		}
	case in("codeguru-security.amazonaws.com"):
		rp := d.Child(root, "requestParameters")
		if rp == doc.Nil {
			return stop("no requestParameters")
		}
		rid, ok := pyGet(d, rp, "resourceId")
		if !ok {
			return stop("requestParameters is not an object")
		}
		if rid != doc.Nil && d.Truthy(rid) {
			d.ReplaceStringBytes(rid, d.AppendPyRepr(nil, rid))
		}
	case in("dynamodb.amazonaws.com"):
		if n := child2(d, "requestParameters", "items"); n != doc.Nil {
			convertTextIntoDict(d, n)
		}
	}
	return nil
}

func renameParam(d *doc.Doc, tableMeta doc.Node, oldKey, newKey string) error {
	params, ok := pyGet(d, tableMeta, "parameters")
	if !ok {
		return stop("table metadata is not an object")
	}
	if params == doc.Nil {
		return nil // KeyError: caught
	}
	if d.Kind(params) != doc.Object {
		return stop("parameters is not an object")
	}
	old := d.Child(params, oldKey)
	if old == doc.Nil {
		return nil
	}
	d.SetCopy(params, newKey, old)
	d.Delete(params, oldKey)
	return nil
}

// cloudTrailInstanceID follows sf_cloudtrail.extract_instance_id.
func cloudTrailInstanceID(d *doc.Doc) error {
	root := d.Root()
	getStr := func(key string) (string, error) {
		n := d.Child(root, key)
		if n == doc.Nil {
			return "", nil
		}
		s, ok := strOf(d, n)
		if !ok {
			return "", stop("%s is not a string", key)
		}
		return s, nil
	}
	es, err := getStr("eventSource")
	if err != nil {
		return err
	}
	// eventName is only compared in the ssm branch, where a non-string
	// equals neither tuple member and then raises in the substring test
	// `event_name in ('PutComplianceItems')`.
	name, nameErr := getStr("eventName")
	rp := d.Child(root, "requestParameters")
	instance := doc.Nil
	instanceStr := ""
	switch {
	case es == "ssm.amazonaws.com":
		if nameErr == nil && (name == "StartSession" || name == "GetConnectionStatus") {
			if d.Truthy(rp) {
				t, ok := pyGet(d, rp, "target")
				if !ok {
					return stop("requestParameters is not an object")
				}
				instance = t
			}
		} else if nameErr != nil {
			return nameErr
		} else if strings.Contains("PutComplianceItems", name) {
			if d.Truthy(rp) {
				rid, ok := pyGet(d, rp, "resourceId")
				if !ok {
					return stop("requestParameters is not an object")
				}
				s := ""
				if rid != doc.Nil {
					if s, ok = strOf(d, rid); !ok {
						return stop("resourceId is not a string")
					}
				}
				if reInstanceIDStart.MatchString(s) {
					instanceStr = s
				}
			}
		}
	case strings.Contains("sts.amazonaws.com", es):
		if ua := d.Child(root, "userAgent"); d.Kind(ua) == doc.String && string(d.Bytes(ua)) == "ec2.amazonaws.com" {
			if rp == doc.Nil {
				break
			}
			rs, ok := pyGet(d, rp, "roleSessionName")
			if !ok {
				return stop("requestParameters is not an object")
			}
			instance = rs
		}
	case strings.Contains("cloudhsm.amazonaws.com", es):
		related := d.SetObject(root, "related")
		d.Replace(related, d.NewObject())
		hosts := d.SetArray(related, "hosts")
		if rp != doc.Nil && d.Kind(rp) == doc.Object {
			if c := d.Child(rp, "clusterId"); c != doc.Nil && d.Truthy(c) {
				d.AppendCopy(hosts, c)
			}
		}
		hsm := doc.Nil
		if re := d.Child(root, "responseElements"); d.Kind(re) == doc.Object {
			if h := d.Child(re, "hsmId"); h != doc.Nil {
				hsm = h
			} else if hh := d.Child(re, "hsm"); d.Kind(hh) == doc.Object {
				hsm = d.Child(hh, "hsmId")
			}
		}
		if hsm != doc.Nil && d.Truthy(hsm) {
			cloud := d.Child(root, "cloud")
			if d.Kind(cloud) != doc.Object {
				return stop("no cloud object")
			}
			inst := d.SetObject(cloud, "instance")
			d.Replace(inst, d.NewObject())
			d.SetCopy(inst, "id", hsm)
			d.AppendCopy(hosts, hsm)
		}
	}
	if instanceStr != "" || (instance != doc.Nil && d.Truthy(instance)) {
		cloud := d.Child(root, "cloud")
		if d.Kind(cloud) != doc.Object {
			return stop("no cloud object")
		}
		inst := d.SetObject(cloud, "instance")
		d.Replace(inst, d.NewObject())
		if instanceStr != "" {
			d.SetString(inst, "id", instanceStr)
		} else {
			d.SetCopy(inst, "id", instance)
		}
	}
	return nil
}
