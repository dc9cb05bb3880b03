package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// The record envelope: what the wrapper of a raw record said about it.
//
// A via_cwl or via_firelens raw record travels as one header line of
// compact JSON, '\n', then the message verbatim (the producer writes it
// with AppendCWLRecord / AppendFirelensRecord while splitting). An
// EventBridge record is JSON whose envelope decode strips. Decode parses
// every envelope once into an Envelope on the event (Envelope.Parse,
// Envelope.EventBridge); normalize reads the facts from there. Nothing else
// parses a header.

// ErrCWLPayload: a top-level value of a via_cwl object is not a
// CloudWatch Logs subscription payload we can read, or a via_cwl record
// lacks its header.
var ErrCWLPayload = errors.New("invalid CloudWatch Logs payload")

// ErrFirelens: a via_firelens line is not a FireLens JSON object with a
// "log" field, or a via_firelens record lacks its header.
var ErrFirelens = errors.New("invalid FireLens record")

// Via says which wrapper a raw record came in.
type Via uint8

const (
	// ViaNone: the record is a record of the log type's own file_format.
	ViaNone Via = iota
	// ViaCWL: a CloudWatch Logs subscription log event (via_cwl).
	ViaCWL
	// ViaFirelens: a FireLens line (via_firelens).
	ViaFirelens
)

// CWLMeta is the CloudWatch Logs metadata of one log event, as the producer
// writes it ahead of the message. es-loader maps Owner to
// cloud.account.id, LogGroup to @log_group, LogStream to @log_stream, ID to
// the additional id of _id, Timestamp (epoch milliseconds, verbatim) to
// cwl_timestamp.
type CWLMeta struct {
	Owner     string      `json:"owner"`
	LogGroup  string      `json:"logGroup"`
	LogStream string      `json:"logStream"`
	ID        string      `json:"id"`
	Timestamp json.Number `json:"timestamp"`
}

// AppendCWLRecord appends the raw record of one log event to dst: the
// metadata as one line of compact JSON, '\n', then the message verbatim.
// The message may contain newlines; the header cannot (JSON escapes them).
func AppendCWLRecord(dst []byte, m CWLMeta, message []byte) []byte {
	dst = append(dst, `{"owner":`...)
	dst = appendJSONString(dst, m.Owner)
	dst = append(dst, `,"logGroup":`...)
	dst = appendJSONString(dst, m.LogGroup)
	dst = append(dst, `,"logStream":`...)
	dst = appendJSONString(dst, m.LogStream)
	dst = append(dst, `,"id":`...)
	dst = appendJSONString(dst, m.ID)
	dst = append(dst, `,"timestamp":`...)
	if m.Timestamp == "" {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, m.Timestamp...)
	}
	dst = append(dst, "}\n"...)
	return append(dst, message...)
}

func appendJSONString(dst []byte, s string) []byte {
	b, _ := json.Marshal(s) // never fails for a string
	return append(dst, b...)
}

// ParseCWLRecord splits a raw record made by AppendCWLRecord into its
// metadata and message (message aliases raw; it starts at raw[off:]) with
// encoding/json. Envelope.Parse reads the usual header without allocating
// and falls back to this.
func ParseCWLRecord(raw []byte) (m CWLMeta, message []byte, off int, err error) {
	i := bytes.IndexByte(raw, '\n')
	if i < 0 || len(raw) == 0 || raw[0] != '{' {
		return m, nil, 0, fmt.Errorf("%w: record has no CloudWatch Logs header line", ErrCWLPayload)
	}
	if err := json.Unmarshal(raw[:i], &m); err != nil {
		return m, nil, 0, fmt.Errorf("%w: header: %w", ErrCWLPayload, err)
	}
	return m, raw[i+1:], i + 1, nil
}

// FirelensMeta is the container metadata of one FireLens record, as the
// producer writes it ahead of the log. Absent fields are nil (es-loader:
// obj.get → None).
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

// CWLHeader is CWLMeta as slices of the raw record (or of a decoded copy
// when the header had escapes); Timestamp is nil for null.
type CWLHeader struct {
	Owner, LogGroup, LogStream, ID, Timestamp []byte
}

// EventBridge holds es-loader's cwe_id, cwe_accountid, cwe_region and
// cwe_timestamp of a record that came in an EventBridge envelope (Set).
type EventBridge struct {
	Set                       bool
	ID, Account, Region, Time string
}

// Envelope is what a record's wrapper said about it, parsed once by decode.
// The zero Envelope is a record with no wrapper.
type Envelope struct {
	Via Via
	// CWL is the header of a ViaCWL record.
	CWL CWLHeader
	// Firelens is the header of a ViaFirelens record.
	Firelens FirelensMeta
	// Message is the CloudWatch Logs message / FireLens log: the raw record
	// after its header line (it aliases the raw record, at offset Off).
	Message []byte
	Off     int
	// EventBridge is set when decode stripped an EventBridge envelope.
	EventBridge EventBridge
}

// Parse reads the header of a raw record of wrapper via into e (raw is not
// copied: e aliases it). ViaNone leaves e empty.
func (e *Envelope) Parse(via Via, raw []byte) error {
	*e = Envelope{Via: via}
	switch via {
	case ViaCWL:
		if e.CWL.parse(raw, &e.Message) {
			e.Off = len(raw) - len(e.Message)
			return nil
		}
		m, msg, off, err := ParseCWLRecord(raw)
		if err != nil {
			*e = Envelope{}
			return err
		}
		e.CWL = CWLHeader{[]byte(m.Owner), []byte(m.LogGroup), []byte(m.LogStream), []byte(m.ID), []byte(m.Timestamp)}
		if m.Timestamp == "" {
			e.CWL.Timestamp = nil
		}
		e.Message, e.Off = msg, off
	case ViaFirelens:
		m, log, off, err := ParseFirelensRecord(raw)
		if err != nil {
			*e = Envelope{}
			return err
		}
		e.Firelens, e.Message, e.Off = m, log, off
	}
	return nil
}

// parse reads the header line AppendCWLRecord writes, in its fixed layout,
// without allocating; false (use ParseCWLRecord) for any other shape,
// including strings with escapes or control characters and timestamps that
// are not plain integers, so what it accepts encoding/json accepts too,
// with the same values.
func (h *CWLHeader) parse(raw []byte, msg *[]byte) bool {
	p := raw
	for _, f := range []struct {
		prefix string
		dst    *[]byte
	}{
		{`{"owner":`, &h.Owner}, {`,"logGroup":`, &h.LogGroup}, {`,"logStream":`, &h.LogStream}, {`,"id":`, &h.ID},
	} {
		if !bytes.HasPrefix(p, []byte(f.prefix)) {
			return false
		}
		p = p[len(f.prefix):]
		if len(p) == 0 || p[0] != '"' {
			return false
		}
		end := bytes.IndexByte(p[1:], '"')
		if end < 0 || !plainString(p[1:1+end]) {
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
		digits := ts
		if digits[0] == '-' {
			digits = digits[1:]
		}
		if len(digits) == 0 || (digits[0] == '0' && len(digits) > 1) {
			return false
		}
		for _, c := range digits {
			if c < '0' || c > '9' {
				return false
			}
		}
	}
	h.Timestamp = ts
	*msg = p[nl+1:]
	return true
}

// plainString: s needs no JSON unescaping and is valid inside a JSON
// string (no backslash, no control character).
func plainString(s []byte) bool {
	for _, c := range s {
		if c == '\\' || c < 0x20 {
			return false
		}
	}
	return true
}
