package decode

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/siemstream/siemstream/schemas"
	"github.com/siemstream/siemstream/stages"
)

// omap is an insertion-ordered dict (Python dict semantics: a key set again
// keeps its position).
type omap struct {
	keys []string
	vals []any // string, nil, *omap, []any
}

func (m *omap) get(k string) (any, bool) {
	for i, key := range m.keys {
		if key == k {
			return m.vals[i], true
		}
	}
	return nil, false
}

func (m *omap) set(k string, v any) {
	for i, key := range m.keys {
		if key == k {
			m.vals[i] = v
			return
		}
	}
	m.keys = append(m.keys, k)
	m.vals = append(m.vals, v)
}

func (m *omap) del(k string) {
	for i, key := range m.keys {
		if key == k {
			m.keys = append(m.keys[:i], m.keys[i+1:]...)
			m.vals = append(m.vals[:i], m.vals[i+1:]...)
			return
		}
	}
}

// push is xmltodict's push_data: a repeated key becomes a list.
func (m *omap) push(k string, v any) {
	for i, key := range m.keys {
		if key == k {
			if l, ok := m.vals[i].([]any); ok {
				m.vals[i] = append(l, v)
			} else {
				m.vals[i] = []any{m.vals[i], v}
			}
			return
		}
	}
	m.keys = append(m.keys, k)
	m.vals = append(m.vals, v)
}

func appendJSONValue(dst []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...)
	case string:
		b, _ := json.Marshal(x)
		return append(dst, b...)
	case *omap:
		dst = append(dst, '{')
		for i, k := range x.keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			b, _ := json.Marshal(k)
			dst = append(append(dst, b...), ':')
			dst = appendJSONValue(dst, x.vals[i])
		}
		return append(dst, '}')
	case []any:
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONValue(dst, e)
		}
		return append(dst, ']')
	}
	panic(fmt.Sprintf("decode: unexpected xml value %T", v))
}

// errXMLSyntax wraps XML syntax problems.
var errXMLSyntax = errors.New("invalid XML")

// xmlToDict parses one XML document the way xmltodict.parse does without
// namespace processing: {root: value}; an element with neither attributes
// nor children is its text (None when empty); otherwise an object of its
// attributes (keys prefixed by attrPrefix), then its children (a repeated
// child becomes a list), then its text under "#text" when there is any.
// With strip, text is stripped and whitespace-only text is None (the
// default); without (winevtxml), text is kept as is, whitespace between
// children included. Comments and processing instructions are ignored.
func xmlToDict(raw []byte, attrPrefix string, strip bool) (*omap, error) {
	dec := xml.NewDecoder(bytes.NewReader(raw))
	dec.Strict = true
	type frame struct {
		name string
		item *omap
		data []byte
		has  bool // data was seen
	}
	var stack []frame
	root := &omap{}
	done := false
	for {
		tok, err := dec.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errXMLSyntax, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if done && len(stack) == 0 {
				return nil, fmt.Errorf("%w: junk after document element", errXMLSyntax)
			}
			f := frame{name: qname(t.Name)}
			if len(t.Attr) > 0 {
				f.item = &omap{}
				for _, a := range t.Attr {
					f.item.set(attrPrefix+qname(a.Name), a.Value)
				}
			}
			stack = append(stack, f)
		case xml.EndElement:
			if len(stack) == 0 || stack[len(stack)-1].name != qname(t.Name) {
				return nil, fmt.Errorf("%w: mismatched end tag </%s>", errXMLSyntax, qname(t.Name))
			}
			f := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			var data any
			if f.has && len(f.data) > 0 {
				s := string(f.data)
				if strip {
					s = strings.TrimSpace(s)
				}
				if s != "" {
					data = s
				}
			}
			var v any
			if f.item != nil {
				if data != nil {
					f.item.push("#text", data)
				}
				v = f.item
			} else {
				v = data
			}
			if len(stack) == 0 {
				root.push(f.name, v)
				done = true
			} else {
				p := &stack[len(stack)-1]
				if p.item == nil {
					p.item = &omap{}
				}
				p.item.push(f.name, v)
			}
		case xml.CharData:
			if len(stack) == 0 {
				if len(bytes.TrimSpace(t)) > 0 {
					return nil, fmt.Errorf("%w: text outside the document element", errXMLSyntax)
				}
				continue
			}
			p := &stack[len(stack)-1]
			p.data = append(p.data, t...)
			p.has = true
		}
	}
	if len(stack) > 0 || !done {
		return nil, fmt.Errorf("%w: unexpected end of record", errXMLSyntax)
	}
	return root, nil
}

func qname(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}

// decodeXML parses a generic xml record (xmltodict defaults: "@" attribute
// prefix, stripped text).
func decodeXML(lt *schemas.LogType, e *stages.Event, rec []byte) error {
	m, err := xmlToDict(pyRStrip(rec), "@", true)
	if err != nil {
		return fmt.Errorf("decode xml (log type %s): %w: %w", lt.Name, ErrRecord, err)
	}
	return parseInto(lt, e, m, schemas.FormatXML)
}

func parseInto(lt *schemas.LogType, e *stages.Event, m *omap, format schemas.FileFormat) error {
	out := appendJSONValue(nil, m)
	if err := e.Doc.ParseObject(out); err != nil {
		return fmt.Errorf("decode %s (log type %s): %w: %w", format, lt.Name, ErrRecord, err)
	}
	return nil
}

// decodeWinEvtXML parses one Windows event as es-loader's
// FileFormatWinEvtXml: xmltodict with no attribute prefix and unstripped
// text, then #text dropped from Event, System and EventData, EventData.Data
// folded into {Name: text} (unnamed values keyed by position, "-" and empty
// values dropped), EventID {Qualifiers, #text} flattened, AccessList and
// PrivilegeList split on whitespace. Where es-loader raises (a record
// without Event or System, a named Data without Name), the record fails.
func decodeWinEvtXML(lt *schemas.LogType, e *stages.Event, rec []byte) error {
	rec = bytes.TrimRight(pyStrip(rec), "\x00")
	m, err := xmlToDict(rec, "", false)
	if err != nil {
		// es-loader retries without control characters (all of them,
		// newlines included).
		clean := make([]byte, 0, len(rec))
		for _, c := range rec {
			if c >= 32 {
				clean = append(clean, c)
			}
		}
		if m, err = xmlToDict(clean, "", false); err != nil {
			return fmt.Errorf("decode winevtxml (log type %s): %w: %w", lt.Name, ErrRecord, err)
		}
	}
	if err := foldWinEvt(m); err != nil {
		return fmt.Errorf("decode winevtxml (log type %s): %w: %w", lt.Name, ErrRecord, err)
	}
	return parseInto(lt, e, m, schemas.FormatWinEvtXML)
}

func foldWinEvt(m *omap) error {
	evv, _ := m.get("Event")
	ev, ok := evv.(*omap)
	if !ok {
		return errors.New("no <Event> element with content")
	}
	ev.del("#text")
	sysv, _ := ev.get("System")
	sys, ok := sysv.(*omap)
	if !ok {
		return errors.New("no <System> element with content")
	}
	sys.del("#text")
	var dataList any
	var evData *omap
	if edv, ok := ev.get("EventData"); ok {
		if ed, ok := edv.(*omap); ok {
			if dl, ok := ed.get("Data"); ok {
				dataList, evData = dl, ed
				ed.del("#text")
			}
		}
	}
	if evData != nil && truthy(dataList) {
		dd := &omap{}
		named := func(d *omap) error {
			t, _ := d.get("#text")
			if s, ok := t.(string); ok && s != "" && s != "-" {
				n, ok := d.get("Name")
				ns, isStr := n.(string)
				if !ok || !isStr {
					return errors.New("EventData Data element without Name")
				}
				dd.set(ns, s)
			}
			return nil
		}
		switch x := dataList.(type) {
		case string:
			dd.set("0", x)
		case *omap:
			if err := named(x); err != nil {
				return err
			}
		case []any:
			for i, d := range x {
				switch y := d.(type) {
				case *omap:
					if err := named(y); err != nil {
						return err
					}
				case string:
					if y != "" {
						dd.set(strconv.Itoa(i+1), y)
					}
				}
			}
		}
		evData.set("Data", dd)
	}
	idv, ok := sys.get("EventID")
	if !ok {
		return nil
	}
	if id, ok := idv.(*omap); ok {
		q, okQ := id.get("Qualifiers")
		t, okT := id.get("#text")
		if !okQ || !okT {
			return errors.New("EventID without Qualifiers or text")
		}
		sys.set("EventID", t)
		sys.set("Qualifiers", q)
	}
	if evData != nil {
		if dd, ok := func() (*omap, bool) { v, _ := evData.get("Data"); o, ok := v.(*omap); return o, ok }(); ok {
			for _, k := range []string{"AccessList", "PrivilegeList"} {
				if v, ok := dd.get(k); ok {
					if s, ok := v.(string); ok {
						var l []any
						for _, f := range strings.Fields(s) {
							l = append(l, f)
						}
						if l == nil {
							l = []any{}
						}
						dd.set(k, l)
					}
				}
			}
		}
	}
	return nil
}

func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case string:
		return x != ""
	case *omap:
		return len(x.keys) > 0
	case []any:
		return len(x) > 0
	}
	return true
}
