package exclude

import (
	"encoding/json"
	"strconv"
)

// AnyRecord is a Record over decoded JSON (map[string]any, []any, string,
// float64 or json.Number, bool, nil), e.g. from json.Decoder.UseNumber.
type AnyRecord struct{ V any }

// Visit implements Record.
func (r AnyRecord) Visit(path []string, m Matcher) ([]byte, bool) { return visitAny(r.V, path, m) }

func visitAny(v any, path []string, m Matcher) ([]byte, bool) {
	if l, ok := v.([]any); ok {
		for _, x := range l {
			if hit, ok := visitAny(x, path, m); ok {
				return hit, true
			}
		}
		return nil, false
	}
	if len(path) == 0 {
		switch x := v.(type) {
		case string:
			return test(m, []byte(x))
		case json.Number:
			return test(m, []byte(PyNumber(x.String())))
		case float64:
			return test(m, []byte(PyFloat(x)))
		case int:
			return test(m, strconv.AppendInt(nil, int64(x), 10))
		case int64:
			return test(m, strconv.AppendInt(nil, x, 10))
		case bool:
			return test(m, []byte(PyBool(x)))
		case nil:
			return test(m, []byte(PyNone))
		}
		return nil, false
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	next, ok := obj[path[0]]
	if !ok {
		return nil, false
	}
	return visitAny(next, path[1:], m)
}

func test(m Matcher, text []byte) ([]byte, bool) {
	if m.Match(text) {
		return text, true
	}
	return nil, false
}
