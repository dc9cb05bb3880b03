package split

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// ErrFirelens: a via_firelens line is not a FireLens JSON object with a
// "log" field.
var ErrFirelens = errors.New("invalid FireLens record")

// FirelensMeta is the container metadata of one FireLens record, carried
// in the raw record ahead of the log (see AppendFirelensRecord). Absent
// fields are nil (es-loader: obj.get → None).
type FirelensMeta struct {
	ContainerID       *string `json:"container_id"`
	ContainerName     *string `json:"container_name"`
	Source            *string `json:"source"`
	ECSCluster        *string `json:"ecs_cluster"`
	ECSTaskARN        *string `json:"ecs_task_arn"`
	ECSTaskDefinition *string `json:"ecs_task_definition"`
	EC2InstanceID     *string `json:"ec2_instance_id,omitempty"`
}

// AppendFirelensRecord appends the raw record of one FireLens line: the
// metadata as one line of compact JSON, '\n', then the log verbatim.
func AppendFirelensRecord(dst []byte, m FirelensMeta, log []byte) []byte {
	b, _ := json.Marshal(m) // never fails: strings only
	dst = append(dst, b...)
	dst = append(dst, '\n')
	return append(dst, log...)
}

// ParseFirelensRecord splits a raw record made by AppendFirelensRecord
// (log aliases raw; it starts at raw[off:]).
func ParseFirelensRecord(raw []byte) (m FirelensMeta, log []byte, off int, err error) {
	i := bytes.IndexByte(raw, '\n')
	if i < 0 || raw[0] != '{' {
		return m, nil, 0, fmt.Errorf("%w: record has no FireLens header line", ErrFirelens)
	}
	if err := json.Unmarshal(raw[:i], &m); err != nil {
		return m, nil, 0, fmt.Errorf("%w: header: %w", ErrFirelens, err)
	}
	return m, raw[i+1:], i + 1, nil
}

type firelensLine struct {
	FirelensMeta
	Log json.RawMessage `json:"log"`
}

// firelensRecord turns one line of a via_firelens object into its record.
func (s *Splitter) firelensRecord(line []byte) ([]byte, error) {
	var fl firelensLine
	if err := json.Unmarshal(line, &fl); err != nil {
		return nil, recordErrRaw(fmt.Errorf("%w: %w", ErrFirelens, err), line)
	}
	if fl.Log == nil {
		return nil, recordErrRaw(fmt.Errorf("%w: no \"log\" field", ErrFirelens), line)
	}
	var log []byte
	var str string
	if json.Unmarshal(fl.Log, &str) == nil {
		log = []byte(str)
	} else {
		log = bytes.TrimSpace(fl.Log) // a non-string log: its JSON text
	}
	if fl.EC2InstanceID != nil && *fl.EC2InstanceID == "" {
		fl.EC2InstanceID = nil // es-loader adds it only when truthy
	}
	s.fl = AppendFirelensRecord(s.fl[:0], fl.FirelensMeta, log)
	return s.fl, nil
}
