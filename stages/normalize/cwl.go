package normalize

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/siemstream/siemstream/internal/doc"
	"github.com/siemstream/siemstream/producer/split"
	"github.com/siemstream/siemstream/schemas"
	"github.com/siemstream/siemstream/stages"
)

// viaKind says where a record came from: an S3 object of the log type's
// own file_format, a CloudWatch Logs subscription payload (via_cwl) or a
// FireLens object (via_firelens).
type viaKind uint8

const (
	viaNone viaKind = iota
	viaCWL
	viaFirelens
)

// viaMeta is es-loader's logmeta of one via_cwl / via_firelens record,
// read back from the header line the producer put ahead of the message in
// Event.Raw (split.AppendCWLRecord / split.AppendFirelensRecord). It lives
// in the stage's scratch and is reloaded for every event.
type viaMeta struct {
	kind viaKind
	cwl  cwlHeader
	fl   split.FirelensMeta
	msg  []byte // the CloudWatch Logs message / FireLens log (aliases Event.Raw)
}

// cwlHeader is split.CWLMeta as slices of Event.Raw (or of a decoded copy
// when the header had to go through encoding/json).
type cwlHeader struct {
	owner, group, stream, id, ts []byte
}

// load fills v for event e of log type lt (kind viaNone for other types).
func (v *viaMeta) load(lt *schemas.LogType, e *stages.Event) error {
	*v = viaMeta{}
	var err error
	switch {
	case lt.ViaCWL:
		v.kind = viaCWL
		if !v.cwl.parse(e.Raw, &v.msg) {
			var m split.CWLMeta
			m, v.msg, _, err = split.ParseCWLRecord(e.Raw)
			v.cwl = cwlHeader{[]byte(m.Owner), []byte(m.LogGroup), []byte(m.LogStream), []byte(m.ID), []byte(m.Timestamp)}
		}
	case lt.ViaFirelens:
		v.kind = viaFirelens
		v.fl, v.msg, _, err = split.ParseFirelensRecord(e.Raw)
	}
	if err != nil {
		*v = viaMeta{}
		return fmt.Errorf("normalize %s: %w: %w", lt.Name, ErrRecord, err)
	}
	return nil
}

// message is es-loader's lograw for these records: the CloudWatch Logs
// message / FireLens log verbatim, whatever the file_format (ok false for
// other records).
func (v *viaMeta) message(dst []byte) ([]byte, bool) {
	if v.kind == viaNone {
		return dst, false
	}
	return append(dst[:0], v.msg...), true
}

// additionalID is LogParser.additional_id: the CloudWatch Logs event id,
// replaced by the EventBridge id, replaced by a truthy FireLens
// container_name; "" for none.
func (v *viaMeta) additionalID(d *doc.Doc) string {
	id := ""
	if v.kind == viaCWL {
		id = string(v.cwl.id)
	}
	if d.Meta.HasCWE {
		id = d.Meta.CWEID
	}
	if v.kind == viaFirelens && v.fl.ContainerName != nil && *v.fl.ContainerName != "" {
		id = *v.fl.ContainerName
	}
	return id
}

// setLogGroupStream sets @log_group and @log_stream as add_basic_field:
// the CloudWatch Logs group and stream, else None (a field of the record
// with that name is overwritten by null, which encode drops).
func (v *viaMeta) setLogGroupStream(d *doc.Doc, root doc.Node) {
	if v.kind == viaCWL {
		d.SetStringBytes(root, "@log_group", v.cwl.group)
		d.SetStringBytes(root, "@log_stream", v.cwl.stream)
		return
	}
	if d.Child(root, "@log_group") != doc.Nil {
		d.SetNull(root, "@log_group")
	}
	if d.Child(root, "@log_stream") != doc.Nil {
		d.SetNull(root, "@log_stream")
	}
}

// setCWLTimestamp is get_timestamp's logdata['cwl_timestamp'] =
// self.cwl_timestamp: the event time in epoch milliseconds (None outside
// CloudWatch Logs).
func (v *viaMeta) setCWLTimestamp(d *doc.Doc, root doc.Node) {
	if v.kind == viaCWL && len(v.cwl.ts) > 0 {
		d.SetNumber(root, "cwl_timestamp", v.cwl.ts)
		return
	}
	d.SetNull(root, "cwl_timestamp")
}

// cwlTime is get_timestamp's last resort before the current time: a
// truthy cwl_timestamp, as convert_epoch_to_datetime in UTC.
func (v *viaMeta) cwlTime() (schemas.Time, bool) {
	if v.kind != viaCWL || len(v.cwl.ts) == 0 {
		return schemas.Time{}, false
	}
	x, err := strconv.ParseFloat(string(v.cwl.ts), 64)
	if err != nil || x == 0 {
		return schemas.Time{}, false
	}
	return schemas.EpochToTime(x, 0)
}

// accountID is LogParser.accountid before the EventBridge override: the
// CloudWatch Logs owner replaces the account taken from the S3 key.
func (v *viaMeta) accountID(fromKey string) string {
	if v.kind == viaCWL {
		return string(v.cwl.owner)
	}
	return fromKey
}

// errFirelensECS: es-loader raises on this FireLens record in
// transform_to_ecs (the object's processing stops); we fail the record.
var errFirelensECS = errors.New("FireLens metadata cannot be mapped (es-loader raises)")

// firelensECS follows transform_to_ecs's FireLens block on the ECS object E
// (es-loader's ecs_dict, before static_ecs): ecs_task_arn's region and
// account replace cloud.region and cloud.account.id, ec2_instance_id
// becomes cloud.instance.id, container becomes {id, name} of the
// container metadata.
func (v *viaMeta) firelensECS(d *doc.Doc, E doc.Node) error {
	if v.kind != viaFirelens {
		return nil
	}
	if v.fl.ECSTaskARN == nil {
		return fmt.Errorf("%w: ecs_task_arn is missing", errFirelensECS)
	}
	parts := strings.Split(*v.fl.ECSTaskARN, ":")
	if len(parts) < 5 {
		return fmt.Errorf("%w: ecs_task_arn %q has fewer than 5 ':'-separated parts", errFirelensECS, *v.fl.ECSTaskARN)
	}
	cloud := d.Child(E, "cloud")
	if cloud == doc.Nil || d.Kind(cloud) != doc.Object {
		return fmt.Errorf("%w: no cloud object (no cloud_provider)", errFirelensECS)
	}
	acc := d.Child(cloud, "account")
	if acc == doc.Nil || d.Kind(acc) != doc.Object {
		return fmt.Errorf("%w: the record has cloud.account.id", errFirelensECS)
	}
	d.SetString(acc, "id", parts[4])
	d.SetString(cloud, "region", parts[3])
	if v.fl.EC2InstanceID != nil && *v.fl.EC2InstanceID != "" {
		inst := d.SetObject(cloud, "instance")
		d.Replace(inst, d.NewObject())
		d.SetString(inst, "id", *v.fl.EC2InstanceID)
	}
	c := d.SetObject(E, "container")
	d.Replace(c, d.NewObject())
	setOptString(d, c, "id", v.fl.ContainerID)
	setOptString(d, c, "name", v.fl.ContainerName)
	return nil
}

func setOptString(d *doc.Doc, obj doc.Node, key string, s *string) {
	if s == nil {
		d.SetNull(obj, key)
		return
	}
	d.SetString(obj, key, *s)
}

// parse reads the header line split.AppendCWLRecord writes, in its fixed
// layout, without allocating; false (use split.ParseCWLRecord) for any
// other shape, including strings with escapes.
func (h *cwlHeader) parse(raw []byte, msg *[]byte) bool {
	p := raw
	for _, f := range []struct {
		prefix string
		dst    *[]byte
	}{
		{`{"owner":`, &h.owner}, {`,"logGroup":`, &h.group}, {`,"logStream":`, &h.stream}, {`,"id":`, &h.id},
	} {
		if !bytes.HasPrefix(p, []byte(f.prefix)) {
			return false
		}
		p = p[len(f.prefix):]
		if len(p) == 0 || p[0] != '"' {
			return false
		}
		end := bytes.IndexByte(p[1:], '"')
		if end < 0 || bytes.IndexByte(p[1:1+end], '\\') >= 0 {
			return false
		}
		*f.dst = p[1 : 1+end]
		p = p[2+end:]
	}
	const tsKey = `,"timestamp":`
	if !bytes.HasPrefix(p, []byte(tsKey)) {
		return false
	}
	p = p[len(tsKey):]
	nl := bytes.IndexByte(p, '\n')
	if nl < 1 || p[nl-1] != '}' {
		return false
	}
	ts := p[:nl-1]
	switch {
	case string(ts) == "null":
		ts = nil
	case len(ts) == 0:
		return false
	default:
		for _, c := range ts {
			if !(c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E') {
				return false
			}
		}
	}
	h.ts = ts
	*msg = p[nl+1:]
	return true
}
