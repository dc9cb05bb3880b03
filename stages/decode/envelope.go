package decode

import (
	"errors"
	"fmt"

	"github.com/siemstream/siemstream/internal/wire"
	"github.com/siemstream/siemstream/schemas"
	"github.com/siemstream/siemstream/stages"
)

// decodeCWL handles a via_cwl record: the producer's record is the
// CloudWatch Logs metadata line, '\n', then the log event's message
// (wire.AppendCWLRecord). The envelope is parsed once into Event.Env, where
// normalize reads it; the message is parsed with the log type's own
// file_format. Event.Raw is left whole (dead letters keep the metadata) and
// Doc.Meta.RecordStart/RecordEnd point at the message, so @message and _id
// are made from the message only.
func (sc *scratch) decodeCWL(lt *schemas.LogType, e *stages.Event) error {
	env := sc.envelope(e)
	if err := env.Parse(wire.ViaCWL, e.Raw); err != nil {
		return fmt.Errorf("decode %s via_cwl (log type %s): %w: %w", lt.FileFormat, lt.Name, ErrRecord, err)
	}
	full, off := e.Raw, env.Off
	e.Raw = env.Message
	sc.message = true
	err := sc.decodeFormat(lt, e)
	sc.message = false
	e.Raw = full
	m := &e.Doc.Meta
	if m.RecordEnd > 0 {
		m.RecordStart += off
		m.RecordEnd += off
	} else {
		m.RecordStart, m.RecordEnd = off, len(full)
	}
	return err
}

// errStderrIgnored is the Dropped reason of ignore_container_stderr.
var errStderrIgnored = errors.New("log is container's stderr (ignore_container_stderr)")

// decodeFirelens handles a via_firelens record (the container metadata
// line, '\n', the log: wire.AppendFirelensRecord), parsing the envelope once
// into Event.Env. As es-loader: with ignore_container_stderr, stderr records
// are dropped (counted, not errors); the log is parsed with the log type's
// file_format; when that fails on a stderr record, it is indexed
// un-normalised with the log as error.message; a JSON log that does not
// parse (stdout or stderr) goes through repairJSON (un-normalised with
// Python's error text unless the \x repair saves it); a text log not
// matching log_pattern on stdout fails (es-loader counts it as an error and
// drops it). The metadata is added to the document as es-loader merges it
// (dict(logdict, **logmeta)): container_id, container_name,
// container_source (from source), ecs_cluster, ecs_task_arn,
// ecs_task_definition, and ec2_instance_id when set. Event.Raw is left
// whole; Doc.Meta.RecordStart/RecordEnd point at the log (es-loader's
// @message and _id are made from it; its additional id is
// container_name).
func (sc *scratch) decodeFirelens(lt *schemas.LogType, e *stages.Event) error {
	env := sc.envelope(e)
	if err := env.Parse(wire.ViaFirelens, e.Raw); err != nil {
		return fmt.Errorf("decode via_firelens (log type %s): %w: %w", lt.Name, ErrRecord, err)
	}
	meta, log, off := &env.Firelens, env.Message, env.Off
	stderr := meta.Source != nil && *meta.Source == "stderr"
	if stderr && lt.IgnoreContainerStderr {
		e.Status, e.Err = stages.Dropped, errStderrIgnored
		return nil
	}
	full := e.Raw
	e.Raw = log
	sc.message = true
	err := sc.decodeFormat(lt, e)
	sc.message = false
	e.Raw = full
	d := e.Doc
	if err != nil {
		if !stderr && !lt.FileFormat.ParsesAsJSON() {
			return err
		}
		d.Reset()
		d.Meta.SkipNormalization = true
		if stderr {
			d.Meta.ErrorMessage = string(log)
		} else {
			d.Meta.ErrorMessage = err.Error()
		}
	}
	m := &d.Meta
	if m.RecordEnd > 0 {
		m.RecordStart += off
		m.RecordEnd += off
	} else {
		m.RecordStart, m.RecordEnd = off, len(full)
	}
	root := d.Root()
	for _, f := range []struct {
		key string
		v   *string
	}{
		{"container_id", meta.ContainerID}, {"container_name", meta.ContainerName}, {"container_source", meta.Source},
		{"ecs_cluster", meta.ECSCluster}, {"ecs_task_arn", meta.ECSTaskARN}, {"ecs_task_definition", meta.ECSTaskDefinition},
	} {
		if f.v == nil {
			d.SetNull(root, f.key)
		} else {
			d.SetString(root, f.key, *f.v)
		}
	}
	if meta.EC2InstanceID != nil && *meta.EC2InstanceID != "" {
		d.SetString(root, "ec2_instance_id", *meta.EC2InstanceID)
	}
	return nil
}
