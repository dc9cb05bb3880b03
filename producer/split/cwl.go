package split

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/tidwall/gjson"
)

// MaxCWLPayloadBytes bounds one CloudWatch Logs payload (one DATA_MESSAGE
// object) for KindCWL; each of its messages is still bounded by
// Options.MaxRecordBytes. CloudWatch Logs sends at most 1 MiB of events per
// payload, plus JSON overhead; 16 MiB leaves room for escaping.
const MaxCWLPayloadBytes = 16 << 20

// ErrCWLPayload: a top-level value of a via_cwl object is not a
// CloudWatch Logs subscription payload we can read.
var ErrCWLPayload = errors.New("invalid CloudWatch Logs payload")

// CWLMeta is the CloudWatch Logs metadata of one log event, carried in the
// raw record ahead of the message (see AppendCWLRecord). es-loader maps
// Owner to cloud.account.id, LogGroup to @log_group, LogStream to
// @log_stream, ID to the additional id of _id, Timestamp (epoch
// milliseconds, verbatim) to cwl_timestamp.
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
// metadata and message (message aliases raw; it starts at raw[off:]).
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

// cwlScanner turns CloudWatch Logs payloads into records (KindCWL).
type cwlScanner struct {
	js  *jsonScanner
	max int

	meta   CWLMeta
	events []gjson.Result // into the current payload (valid until js.next)
	pos    int
	out    []byte
}

func (c *cwlScanner) next() ([]byte, error) {
	for c.pos >= len(c.events) {
		c.events, c.pos = c.events[:0], 0
		raw, err := c.js.next()
		if err != nil {
			return nil, err // record errors (broken payload) cost one ordinal
		}
		if !gjson.ValidBytes(raw) {
			return nil, recordErr(fmt.Errorf("%w: not valid JSON", ErrCWLPayload))
		}
		p := gjson.ParseBytes(raw)
		if !p.IsObject() {
			return nil, recordErr(fmt.Errorf("%w: not a JSON object", ErrCWLPayload))
		}
		// es-loader: only objects with logEvents and messageType
		// DATA_MESSAGE carry events; CONTROL_MESSAGE and others are skipped.
		evs := p.Get("logEvents")
		if p.Get("messageType").String() != "DATA_MESSAGE" || !evs.Exists() {
			continue
		}
		if !evs.IsArray() {
			return nil, recordErr(fmt.Errorf("%w: logEvents is not an array", ErrCWLPayload))
		}
		c.meta = CWLMeta{Owner: p.Get("owner").String(), LogGroup: p.Get("logGroup").String(), LogStream: p.Get("logStream").String()}
		evs.ForEach(func(_, v gjson.Result) bool {
			c.events = append(c.events, v)
			return true
		})
	}
	ev := c.events[c.pos]
	c.pos++
	msg := ev.Get("message")
	if !msg.Exists() {
		return nil, recordErr(fmt.Errorf("%w: log event without message", ErrCWLPayload))
	}
	var text string
	if msg.Type == gjson.String {
		text = msg.String()
	} else {
		text = msg.Raw
	}
	if len(text) > c.max {
		return nil, recordErr(ErrRecordTooLarge)
	}
	m := c.meta
	id := ev.Get("id")
	if id.Type == gjson.String {
		m.ID = id.Str
	} else {
		m.ID = id.Raw
	}
	if ts := ev.Get("timestamp"); ts.Type == gjson.Number {
		m.Timestamp = json.Number(ts.Raw)
	} else if ts.Type == gjson.String && isJSONNumber(ts.Str) {
		m.Timestamp = json.Number(ts.Str)
	}
	c.out = AppendCWLRecord(c.out[:0], m, []byte(text))
	return c.out, nil
}

// isJSONNumber reports whether s is a JSON number literal.
func isJSONNumber(s string) bool {
	var n json.Number
	return s != "" && json.Unmarshal([]byte(s), &n) == nil && string(n) == s
}
