package schemas

import (
	"strconv"
	"strings"

	"github.com/siemstream/siemstream/internal/doc"
)

// Go transform of the securitylake log type, shared with ocsf-json
// (es-loader's sf_securitylake.py and sf_ocsf_json.py).

func init() {
	RegisterTransform("securitylake", transformOCSF)
	RegisterTransform("ocsf_json", transformOCSF)
}

var ocsfCategories = map[int64][2]string{
	1: {"-system", "-system-activity"},
	2: {"-findings", "-findings"},
	3: {"-audit", "-audit-activity"},
	4: {"-network", "-network-activity"},
	5: {"-config", "-config-inventory"},
}

// transformOCSF: the index is log-ocsf-<first word of category_name> and
// @log_type ocsf-<category name> (from category_uid when there is no name);
// findings (category 2) are dated by finding.modified_time (else
// created_time), epoch milliseconds, which also dates the index; user.name
// without an ARN/domain prefix.
func transformOCSF(tc *TransformContext) error {
	d := tc.Doc
	root := d.Root()
	uidNode := d.Child(root, "category_uid")
	uid, ok := pyIntNode(d, uidNode)
	if !ok {
		return stop("category_uid is not an integer")
	}
	var suffix, logType string
	if name, _ := str(d, root, "category_name"); name != "" {
		suffix = "-" + strings.ToLower(strings.Fields(name + " ")[0])
		logType = "-" + strings.ToLower(strings.ReplaceAll(name, " ", "-"))
	} else if c, ok := ocsfCategories[uid]; ok {
		suffix, logType = c[0], c[1]
	}
	tc.IndexName = "log-ocsf" + suffix
	d.SetString(root, "@log_type", "ocsf"+logType)
	if uid == 2 {
		f := d.Child(root, "finding")
		for _, k := range []string{"modified_time", "created_time"} {
			v := at(d, f, k)
			if !d.Truthy(v) {
				continue
			}
			ms, ok := pyIntNode(d, v)
			if !ok {
				return stop("finding.%s is not an integer", k)
			}
			d.SetNumber(root, "@timestamp", []byte(strconv.FormatInt(ms, 10)))
			if t, ok := EpochToTime(float64(ms), 0); ok {
				tc.IndexTime, tc.HasIndexTime = t, true
			}
			break
		}
	}
	if n := at(d, root, "user", "name"); n != doc.Nil {
		if s, ok := strOf(d, n); ok && strings.Contains(s, ":") {
			s = s[strings.LastIndexByte(s, ':')+1:]
			d.ReplaceString(n, s[strings.LastIndexByte(s, '/')+1:])
		}
	}
	return nil
}
