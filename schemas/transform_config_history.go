package schemas

import (
	"sort"
	"strings"
	"time"

	"github.com/siemstream/siemstream/internal/doc"
	"github.com/siemstream/siemstream/internal/pyjson"
)

// Go transform of the config-history log type, shared with config-snapshot
// and config-rules (es-loader's sf_config_*.py).

func init() {
	RegisterTransform("config_history", func(tc *TransformContext) error { return transformConfig(tc, true, false) })
	RegisterTransform("config_snapshot", func(tc *TransformContext) error { return transformConfig(tc, true, false) })
	RegisterTransform("config_rules", func(tc *TransformContext) error { return transformConfig(tc, false, true) })
}

// transformConfig: @id is MD5(account+region+resource type+resource id) and
// the _id suffix "<@timestamp as YYYYmmdd_HHMMSS>_<4 hex of MD5(module +
// rule ARN)>", so each configuration state is one document; dict-shaped
// members that vary by resource are made lists or renamed (history and
// snapshot); cloud.instance.id, user and related.* from the resource;
// event.outcome from the compliance type (rules).
func transformConfig(tc *TransformContext, reshape, rules bool) error {
	d := tc.Doc
	root := d.Root()
	var seed strings.Builder
	for _, k := range []string{"awsAccountId", "awsRegion", "resourceType", "resourceId"} {
		s, ok := str(d, root, k)
		if !ok {
			return stop("%s missing", k)
		}
		seed.WriteString(s)
	}
	d.SetString(root, "@id", md5Hex(seed.String()))
	mod, ok := str(d, root, "event", "module")
	if !ok {
		return stop("event.module missing")
	}
	arn, _ := str(d, root, "configRuleARN")
	ts, ok := str(d, root, "@timestamp")
	if !ok {
		return stop("@timestamp missing")
	}
	t, err := time.Parse("2006-01-02T15:04:05.999999999Z07:00", ts)
	if err != nil {
		return stop("@timestamp %q: %v", ts, err)
	}
	tc.DocIDSuffix = t.Format("20060102_150405") + "_" + md5Hex(mod + arn)[:4]

	rtype, _ := str(d, root, "resourceType")
	rid, _ := str(d, root, "resourceId")
	if reshape {
		if err := configDictsToLists(d, rtype); err != nil {
			return err
		}
		if err := renameConfigFields(d); err != nil {
			return err
		}
	}
	// extract_host
	cloud := d.Child(root, "cloud")
	switch {
	case strIn(rtype, "AWS::EC2::Instance", "AWS::SSM::ManagedInstanceInventory"):
		inst := freshObject(d, objectAtOrStop(d, cloud), "instance")
		d.SetString(inst, "id", rid)
	case rtype == "AWS::Config::ResourceCompliance":
		if parts := strings.Split(rid, "/"); len(parts) == 2 && strings.Contains("AWS::EC2::Instance", parts[0]) {
			u := freshObject(d, root, "user")
			d.SetString(u, "id", parts[1])
		}
	case strIn(rtype, "AWS::SSM::AssociationCompliance", "AWS::SSM::PatchCompliance"):
		inst := freshObject(d, objectAtOrStop(d, cloud), "instance")
		d.SetString(inst, "id", rid[strings.LastIndexByte(rid, '/')+1:])
	}
	if d.Kind(cloud) == doc.Object && d.Child(cloud, "instance") != doc.Nil {
		id := at(d, cloud, "instance", "id")
		h := d.SetArray(objectAt(d, root, "related"), "hosts")
		d.AppendCopy(h, id)
	}
	// extract_user
	switch {
	case strIn(rtype, "AWS::IAM::User", "AWS::IAM::Role"):
		u := freshObject(d, root, "user")
		d.SetString(u, "id", rid)
		if n := d.Child(root, "resourceName"); n != doc.Nil {
			d.SetCopy(u, "name", n)
		} else {
			d.SetString(u, "name", "")
		}
	case strings.Contains("AWS::Config::ResourceCompliance", rtype):
		if parts := strings.Split(rid, "/"); len(parts) == 2 && strings.Contains("AWS::IAM::Role AWS::IAM::User", parts[0]) && (parts[0] == "AWS::IAM::Role" || parts[0] == "AWS::IAM::User") {
			u := freshObject(d, root, "user")
			d.SetString(u, "id", parts[1])
		}
	}
	if u := d.Child(root, "user"); d.Truthy(u) && d.Kind(u) == doc.Object {
		ru := d.SetArray(objectAt(d, root, "related"), "user")
		if n := d.Child(u, "name"); d.Truthy(n) {
			d.AppendCopy(ru, n)
		}
		if n := d.Child(u, "id"); d.Truthy(n) {
			d.AppendCopy(ru, n)
		}
	}
	if err := configExtractIP(d, rtype); err != nil {
		return err
	}
	if rules {
		ct, ok := str(d, root, "newEvaluationResult", "complianceType")
		if ok && ct != "" {
			ev := d.Child(root, "event")
			switch ct {
			case "COMPLIANT":
				d.SetString(ev, "outcome", "success")
			case "NON_COMPLIANT":
				d.SetString(ev, "outcome", "failure")
			default:
				d.SetString(ev, "outcome", "unknown")
			}
		}
	}
	return nil
}

func objectAtOrStop(d *doc.Doc, n doc.Node) doc.Node {
	if d.Kind(n) != doc.Object {
		// cloud always exists in a normalised document
		return d.SetObject(d.Root(), "cloud")
	}
	return n
}

// pyPath walks root[k1][k2]... with pySub.
func pyPath(d *doc.Doc, keys ...string) (doc.Node, pyIndexErr) {
	n := d.Root()
	for _, k := range keys {
		var e pyIndexErr
		if n, e = pySub(d, n, k); e != pyFound {
			return doc.Nil, e
		}
	}
	return n, pyFound
}

// dictToList is `x = dict_to_list(x)` (list of the dict's values) inside
// `except (IndexError, KeyError)`: a missing key skips it; a value on the
// path that is not a dict, or a final value without .values(), raises.
func dictToList(d *doc.Doc, keys ...string) error {
	n, e := pyPath(d, keys...)
	switch {
	case e == pyTypeError:
		return stop("%s: not a dict on the way", strings.Join(keys, "."))
	case e != pyFound:
		return nil
	case d.Kind(n) != doc.Object:
		return stop("%s has no .values()", strings.Join(keys, "."))
	}
	l := d.NewArray()
	for c := d.First(n); c != doc.Nil; c = d.Next(c) {
		d.AppendCopy(l, c)
	}
	d.Replace(n, l)
	return nil
}

func configDictsToLists(d *doc.Doc, rtype string) error {
	var paths [][]string
	switch {
	case rtype == "AWS::S3::Bucket":
		paths = [][]string{
			{"supplementaryConfiguration", "BucketNotificationConfiguration", "configurations"},
			{"supplementaryConfiguration", "BucketReplicationConfiguration", "rules"},
		}
	case rtype == "AWS::SSM::ManagedInstanceInventory":
		for _, k := range []string{"AWS:Application", "AWS:AWSComponent", "AWS:InstanceInformation", "AWS:Network", "AWS:WindowsUpdate"} {
			paths = append(paths, []string{"configuration", k, "Content"})
		}
	case strIn(rtype, "AWS::SSM::PatchCompliance", "AWS::SSM::AssociationCompliance"):
		paths = [][]string{
			{"configuration", "AWS:ComplianceItem", "Content", "Association"},
			{"configuration", "AWS:ComplianceItem", "Content", "Patch"},
		}
	}
	for _, p := range paths {
		if err := dictToList(d, p...); err != nil {
			return err
		}
	}
	return nil
}

// popInto moves obj[from][key] to dst[to] when obj[from] is an object
// holding key.
func popInto(d *doc.Doc, dst doc.Node, to string, from doc.Node, key string) bool {
	if d.Kind(from) != doc.Object {
		return false
	}
	v := d.Child(from, key)
	if v == doc.Nil {
		return false
	}
	d.SetCopy(dst, to, v)
	d.Delete(from, key)
	return true
}

// renameConfigFields is rename_config_field_name, block by block; each
// block's except clause decides whether an odd shape skips the block or
// stops the script.
func renameConfigFields(d *doc.Doc) error {
	root := d.Root()
	conf := d.Child(root, "configuration")
	isConf := d.Kind(conf) == doc.Object
	// except (AttributeError, KeyError, TypeError) / except Exception: all caught
	if isConf {
		popInto(d, conf, "owner_id", d.Child(conf, "owner"), "id")
		popInto(d, conf, "state_code", d.Child(conf, "state"), "code")
		popInto(d, conf, "state_name", d.Child(conf, "state"), "name")
	}
	if tags := d.Child(root, "tags"); d.Kind(tags) == doc.Object {
		popInto(d, tags, "AmazonFSx_FileSystemId", tags, "AmazonFSx.FileSystemId")
	}
	if isConf {
		if sr := d.Child(conf, "stateReason"); d.Kind(sr) == doc.String {
			o := d.NewObject()
			d.SetCopy(o, "message", sr)
			d.Replace(sr, o)
			// KeyError without stateReasonCode: the message stays wrapped
			popInto(d, d.Child(conf, "stateReason"), "code", conf, "stateReasonCode")
		}
	}
	// except (IndexError, KeyError): configuration[x][0]; a TypeError (a
	// configuration or x that cannot be indexed so) stops the script. A
	// non-empty string is indexed too: each character is wrapped.
	for _, x := range [][2]string{{"securityGroups", "groupId"}, {"availabilityZones", "zoneName"}, {"subnets", "subnetIdentifier"}} {
		l, e := pySub(d, conf, x[0])
		if conf == doc.Nil {
			e = pyKeyError
		}
		switch {
		case e == pyTypeError:
			return stop("configuration is not a dict")
		case e != pyFound:
			continue
		}
		switch d.Kind(l) {
		case doc.Array:
			if d.Kind(d.First(l)) != doc.String {
				continue // [] IndexError, or first element not a str
			}
			nl := d.NewArray()
			for c := d.First(l); c != doc.Nil; c = d.Next(c) {
				d.SetCopy(d.AppendObject(nl), x[1], c)
			}
			d.Replace(l, nl)
		case doc.String:
			chars := string(d.Bytes(l))
			if chars == "" {
				continue
			}
			nl := d.NewArray()
			for _, r := range chars {
				d.SetString(d.AppendObject(nl), x[1], string(r))
			}
			d.Replace(l, nl)
		case doc.Object:
			continue // dict[0]: KeyError
		default:
			return stop("configuration.%s cannot be indexed", x[0])
		}
	}
	if isConf {
		for _, x := range [][2]string{{"endpoint", "address"}, {"iamInstanceProfile", "arn"}} {
			if v := d.Child(conf, x[0]); d.Kind(v) == doc.String {
				o := d.NewObject()
				d.SetCopy(o, x[1], v)
				d.Replace(v, o)
			}
		}
	}
	// except (IndexError, KeyError): configuration['rules'][0]['statement']
	// is a dict ⇒ every rule's statement becomes json.dumps(statement),
	// until a rule without one (KeyError: earlier rules stay converted).
	if conf != doc.Nil {
		rl, e := pySub(d, conf, "rules")
		first := doc.Nil
		if e == pyFound {
			switch d.Kind(rl) {
			case doc.Array:
				if first = d.First(rl); first == doc.Nil {
					e = pyIndexError
				}
			case doc.String:
				if len(d.Bytes(rl)) == 0 {
					e = pyIndexError
				} else {
					e = pyTypeError // 'c'['statement']
				}
			case doc.Object:
				e = pyKeyError
			default:
				e = pyTypeError
			}
		}
		var st doc.Node
		if e == pyFound {
			st, e = pySub(d, first, "statement")
		}
		if e == pyTypeError {
			return stop("configuration.rules cannot be indexed")
		}
		if e == pyFound && d.Kind(st) == doc.Object {
			for r := d.First(rl); r != doc.Nil; r = d.Next(r) {
				st, e := pySub(d, r, "statement")
				if e == pyTypeError {
					return stop("a rule is not a dict")
				}
				if e != pyFound {
					break
				}
				if b, err := pyjson.AppendASCII(nil, d.AppendValueJSON(nil, st)); err == nil {
					d.ReplaceStringBytes(st, b)
				}
			}
		}
	}
	if isConf {
		if st := d.Child(conf, "status"); d.Kind(st) == doc.Object {
			if popInto(d, conf, "status_message", st, "message") {
				if code := d.Child(st, "code"); code != doc.Nil {
					d.Replace(st, code)
				}
			}
		}
	}
	return nil
}

func configExtractIP(d *doc.Doc, rtype string) error {
	root := d.Root()
	conf := d.Child(root, "configuration")
	if !d.Truthy(conf) {
		return nil
	}
	var ips []string
	add := func(n doc.Node) {
		if s, ok := strOf(d, n); ok {
			ips = append(ips, s)
		} else if n != doc.Nil && d.Kind(n) != doc.Null {
			ips = append(ips, string(d.AppendPyStr(nil, n)))
		}
	}
	// Python's `for x in l` then x[...]: a list is walked; an empty dict or
	// string yields nothing; a non-empty one yields strings, which cannot
	// be indexed by name (TypeError), like any other value.
	iterable := func(l doc.Node, what string) (bool, error) {
		switch d.Kind(l) {
		case doc.Array:
			return true, nil
		case doc.Object, doc.String:
			if !d.Truthy(l) {
				return false, nil
			}
		}
		return false, stop("%s is not a list", what)
	}
	fromNICs := func(l doc.Node) error {
		if ok, err := iterable(l, "privateIpAddresses"); !ok {
			return err
		}
		for nic := d.First(l); nic != doc.Nil; nic = d.Next(nic) {
			p := d.Child(nic, "privateIpAddress")
			if p == doc.Nil {
				return stop("privateIpAddress missing")
			}
			add(p)
			// nic.get('association', {}).get('publicIp'): a null or
			// non-dict association raises
			a := d.Child(nic, "association")
			if a == doc.Nil {
				continue
			}
			if d.Kind(a) != doc.Object {
				return stop("association is not a dict")
			}
			if pub := d.Child(a, "publicIp"); d.Truthy(pub) {
				add(pub)
			}
		}
		return nil
	}
	switch {
	case strings.Contains("AWS::EC2::EIP", rtype):
		add(d.Child(root, "resourceName")) // public
		add(d.Child(conf, "privateIpAddress"))
	case rtype == "AWS::EC2::Instance":
		enis := d.Child(conf, "networkInterfaces")
		if enis == doc.Nil {
			return stop("networkInterfaces missing")
		}
		if ok, err := iterable(enis, "networkInterfaces"); !ok {
			if err != nil {
				return err
			}
			break
		}
		for eni := d.First(enis); eni != doc.Nil; eni = d.Next(eni) {
			if err := fromNICs(d.Child(eni, "privateIpAddresses")); err != nil {
				return err
			}
		}
	case rtype == "AWS::EC2::NetworkInterface":
		if err := fromNICs(d.Child(conf, "privateIpAddresses")); err != nil {
			return err
		}
	case rtype == "AWS::EC2::NatGateway":
		first := d.First(d.Child(conf, "natGatewayAddresses"))
		if first == doc.Nil {
			return stop("natGatewayAddresses empty")
		}
		add(d.Child(first, "publicIp"))
		add(d.Child(first, "privateIp"))
	case rtype == "AWS::SSM::ManagedInstanceInventory":
		if l := at(d, conf, "AWS:Network", "Content"); d.Kind(l) == doc.Array {
			for c := d.First(l); c != doc.Nil; c = d.Next(c) {
				add(d.Child(c, "IPV6"))
				add(d.Child(c, "IPV4"))
			}
		}
	}
	set := map[string]bool{}
	for _, ip := range ips {
		if ip != "" {
			set[ip] = true
		}
	}
	if len(ips) == 0 {
		return nil
	}
	sorted := make([]string, 0, len(set))
	for ip := range set {
		sorted = append(sorted, ip)
	}
	sort.Strings(sorted)
	l := d.SetArray(objectAt(d, root, "related"), "ip")
	for _, ip := range sorted {
		d.AppendString(l, ip)
	}
	return nil
}
