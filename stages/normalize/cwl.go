package normalize

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/siemstream/siemstream/internal/doc"
	"github.com/siemstream/siemstream/internal/wire"
	"github.com/siemstream/siemstream/schemas"
)

// viaMeta is es-loader's logmeta of the current event: the wrapper facts
// (CloudWatch Logs, FireLens, EventBridge) decode parsed into Event.Env.
type viaMeta struct{ *wire.Envelope }

// noEnvelope stands for the envelope of a record with none (read only).
var noEnvelope wire.Envelope

// message is es-loader's lograw for these records: the CloudWatch Logs
// message / FireLens log verbatim, whatever the file_format (ok false for
// other records).
func (v *viaMeta) message(dst []byte) ([]byte, bool) {
	if v.Via == wire.ViaNone {
		return dst, false
	}
	return append(dst[:0], v.Message...), true
}

// additionalID is LogParser.additional_id: the CloudWatch Logs event id,
// replaced by the EventBridge id, replaced by a truthy FireLens
// container_name; "" for none.
func (v *viaMeta) additionalID() string {
	id := ""
	if v.Via == wire.ViaCWL {
		id = string(v.CWL.ID)
	}
	if v.EventBridge.Set {
		id = v.EventBridge.ID
	}
	if v.Via == wire.ViaFirelens && v.Firelens.ContainerName != nil && *v.Firelens.ContainerName != "" {
		id = *v.Firelens.ContainerName
	}
	return id
}

// setLogGroupStream sets @log_group and @log_stream as add_basic_field:
// the CloudWatch Logs group and stream, else None (a field of the record
// with that name is overwritten by null, which encode drops).
func (v *viaMeta) setLogGroupStream(d *doc.Doc, root doc.Node) {
	if v.Via == wire.ViaCWL {
		d.SetStringBytes(root, "@log_group", v.CWL.LogGroup)
		d.SetStringBytes(root, "@log_stream", v.CWL.LogStream)
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
	if v.Via == wire.ViaCWL && len(v.CWL.Timestamp) > 0 {
		d.SetNumber(root, "cwl_timestamp", v.CWL.Timestamp)
		return
	}
	d.SetNull(root, "cwl_timestamp")
}

// cwlTime is get_timestamp's last resort before the current time: a
// truthy cwl_timestamp, as convert_epoch_to_datetime in UTC.
func (v *viaMeta) cwlTime() (schemas.Time, bool) {
	if v.Via != wire.ViaCWL || len(v.CWL.Timestamp) == 0 {
		return schemas.Time{}, false
	}
	x, err := strconv.ParseFloat(string(v.CWL.Timestamp), 64)
	if err != nil || x == 0 {
		return schemas.Time{}, false
	}
	return schemas.EpochToTime(x, 0)
}

// accountRegion is LogParser.accountid and region: the CloudWatch Logs
// owner replaces the account taken from the S3 key, and an EventBridge
// envelope's account and region replace both.
func (v *viaMeta) accountRegion(fromKey, region string) (string, string) {
	if v.EventBridge.Set {
		return v.EventBridge.Account, v.EventBridge.Region
	}
	if v.Via == wire.ViaCWL {
		return string(v.CWL.Owner), region
	}
	return fromKey, region
}

// setCWETimestamp is get_timestamp's logdata['cwe_timestamp']: the
// EventBridge envelope's time, else None.
func (v *viaMeta) setCWETimestamp(d *doc.Doc, root doc.Node) {
	if v.EventBridge.Set {
		d.SetString(root, "cwe_timestamp", v.EventBridge.Time)
		return
	}
	d.SetNull(root, "cwe_timestamp")
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
	if v.Via != wire.ViaFirelens {
		return nil
	}
	if v.Firelens.ECSTaskARN == nil {
		return fmt.Errorf("%w: ecs_task_arn is missing", errFirelensECS)
	}
	parts := strings.Split(*v.Firelens.ECSTaskARN, ":")
	if len(parts) < 5 {
		return fmt.Errorf("%w: ecs_task_arn %q has fewer than 5 ':'-separated parts", errFirelensECS, *v.Firelens.ECSTaskARN)
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
	if v.Firelens.EC2InstanceID != nil && *v.Firelens.EC2InstanceID != "" {
		inst := d.SetObject(cloud, "instance")
		d.Replace(inst, d.NewObject())
		d.SetString(inst, "id", *v.Firelens.EC2InstanceID)
	}
	c := d.SetObject(E, "container")
	d.Replace(c, d.NewObject())
	setOptString(d, c, "id", v.Firelens.ContainerID)
	setOptString(d, c, "name", v.Firelens.ContainerName)
	return nil
}

func setOptString(d *doc.Doc, obj doc.Node, key string, s *string) {
	if s == nil {
		d.SetNull(obj, key)
		return
	}
	d.SetString(obj, key, *s)
}
