package split

import (
	"encoding/json"
	"fmt"

	"github.com/tidwall/gjson"

	"github.com/siemstream/siemstream/internal/wire"
)

// MaxCWLPayloadBytes bounds one CloudWatch Logs payload (one DATA_MESSAGE
// object) for KindCWL; each of its messages is still bounded by
// Options.MaxRecordBytes. CloudWatch Logs sends at most 1 MiB of events per
// payload, plus JSON overhead; 16 MiB leaves room for escaping.
const MaxCWLPayloadBytes = 16 << 20

// The record envelope (the header line ahead of each message) is
// internal/wire's; these are its writer's names here.
var (
	// ErrCWLPayload is wire.ErrCWLPayload.
	ErrCWLPayload = wire.ErrCWLPayload
	// AppendCWLRecord is wire.AppendCWLRecord.
	AppendCWLRecord = wire.AppendCWLRecord
)

// CWLMeta is wire.CWLMeta.
type CWLMeta = wire.CWLMeta

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
