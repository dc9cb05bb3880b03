package schemas

import (
	"strconv"
	"strings"

	"github.com/siemstream/siemstream/internal/doc"
	"github.com/siemstream/siemstream/internal/pystr"
)

// Go transform of the cloudhsm log type (es-loader's sf_cloudhsm.py).

func init() {
	RegisterTransform("cloudhsm", transformCloudHSM)
}

var (
	hsmUserOps   = []string{"CN_LOGIN", "CN_LOGOUT", "CN_APP_FINALIZE", "CN_CLOSE_SESSION"}
	hsmTargetOps = []string{"CN_CREATE_USER", "CN_CREATE_CO", "CN_CREATE_APPLIANCE_USER", "CN_DELETE_USER",
		"CN_SET_M_VALUE", "CN_CHANGE_PSWD", "CN_APPROVE_TOKEN"}
)

// pyStrOfField is f"{logdata[key]}" (None for a missing or null value).
func pyStrOfField(d *doc.Doc, obj doc.Node, key string) string {
	n := d.Child(obj, key)
	if n == doc.Nil {
		return "None"
	}
	return string(d.AppendPyStr(nil, n))
}

// transformCloudHSM: cluster id (log group) and HSM id (log stream) into
// cloudhsm.*, cloud.instance.id and related.hosts; @id from the HSM id,
// sequence number and microseconds; v2 opcode fields renamed; hexadecimal
// counters as integers; user and target user of user-management commands;
// event.outcome from the HSM return code.
func transformCloudHSM(tc *TransformContext) error {
	d := tc.Doc
	root := d.Root()
	var clusterID, hsmID string
	if lg, _ := str(d, root, "@log_group"); lg != "" {
		parts := strings.Split(lg, "/")
		if len(parts) < 4 {
			return stop("@log_group %q", lg)
		}
		clusterID = parts[3]
	}
	if ls := d.Child(root, "@log_stream"); d.Truthy(ls) {
		hsmID = string(d.AppendPyStr(nil, ls))
	}
	hsm := freshObject(d, root, "cloudhsm")
	hosts := d.SetArray(freshObject(d, root, "related"), "hosts")
	if d.Child(root, "sequence_no") != doc.Nil && d.Child(root, "timestamp_usec") != doc.Nil {
		id := "None"
		if hsmID != "" {
			id = hsmID
		}
		d.SetString(root, "@id", id+pyStrOfField(d, root, "sequence_no")+pyStrOfField(d, root, "timestamp_usec"))
	}
	if v := d.Child(root, "opcode_v2"); d.Truthy(v) {
		d.SetCopy(root, "opcode", v)
		d.Delete(root, "opcode_v2")
		hx := d.Child(root, "opcode_hex_v2")
		if hx == doc.Nil {
			return stop("opcode_hex_v2 missing")
		}
		d.SetCopy(root, "opcode_hex", hx)
		d.Delete(root, "opcode_hex_v2")
	}
	if v := d.Child(root, "priv_secret_key_handle_v2"); d.Truthy(v) {
		d.SetCopy(root, "priv_secret_key_handle", v)
		d.Delete(root, "priv_secret_key_handle_v2")
	}
	if clusterID != "" {
		d.SetString(hsm, "cluster_id", clusterID)
		d.AppendString(hosts, clusterID)
	}
	if hsmID != "" {
		d.SetString(hsm, "hsm_id", hsmID)
		cloud := d.Child(root, "cloud")
		if d.Kind(cloud) != doc.Object {
			return stop("no cloud object")
		}
		d.SetString(freshObject(d, cloud, "instance"), "id", hsmID)
		d.AppendString(hosts, hsmID)
	}
	for _, k := range []string{"sequence_no", "reboot_counter"} {
		s, ok := str(d, root, k)
		if !ok {
			return stop("%s is not a string", k)
		}
		s = strings.TrimPrefix(strings.TrimPrefix(pystr.Strip(s), "0x"), "0X")
		v, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 16, 64)
		if err != nil {
			return stop("%s: %v", k, err)
		}
		d.SetInt(root, k, v)
	}
	cmd, _ := str(d, root, "command_type")
	if cmd == "CN_MGMT_CMD" && d.Child(root, "user") == doc.Nil {
		d.SetObject(root, "user")
	}
	op, _ := str(d, root, "opcode")
	field := func(k string) doc.Node { return d.Child(root, k) }
	switch {
	case strIn(op, hsmUserOps...):
		u := d.Child(root, "user")
		if d.Kind(u) != doc.Object || field("user_name") == doc.Nil || field("user_type") == doc.Nil {
			return stop("user fields missing")
		}
		d.SetCopy(u, "name", field("user_name"))
		d.SetCopy(u, "roles", field("user_type"))
	case strIn(op, hsmTargetOps...):
		u := d.Child(root, "user")
		if d.Kind(u) != doc.Object {
			return stop("no user object")
		}
		name, typ := field("target_user_name"), field("target_user_type")
		if !d.Truthy(name) {
			name = field("user_name")
		}
		if !d.Truthy(typ) {
			typ = field("user_type")
		}
		t := freshObject(d, u, "target")
		for _, kv := range []struct {
			k string
			n doc.Node
		}{{"name", name}, {"roles", typ}, {"id", field("target_user_id")}} {
			if kv.n == doc.Nil {
				d.SetNull(t, kv.k)
			} else {
				d.SetCopy(t, kv.k, kv.n)
			}
		}
	}
	ev := d.Child(root, "event")
	if d.Truthy(d.Child(root, "hsm_return")) {
		d.SetString(ev, "outcome", "success")
	} else {
		d.SetString(ev, "outcome", "failure")
	}
	return nil
}
