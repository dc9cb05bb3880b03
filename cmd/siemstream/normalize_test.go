package main

import (
	"encoding/json"
	"testing"
)

// TestNormalizeLineIsJSON: control characters in _index or _id still give a
// valid JSON line that decodes to the same strings.
func TestNormalizeLineIsJSON(t *testing.T) {
	for _, id := range []string{"plain", "a\x00b", "tab\there", "\x1b[31mred", "quote\"back\\slash", "line\nbreak", "é\u2028"} {
		line := appendDocLine(nil, "log-x\x01", id, []byte(`{"a":1}`))
		var got struct {
			Index  string          `json:"_index"`
			ID     string          `json:"_id"`
			Source json.RawMessage `json:"_source"`
		}
		if err := json.Unmarshal(line, &got); err != nil {
			t.Fatalf("id %q: %s is not JSON: %v", id, line, err)
		}
		if got.ID != id || got.Index != "log-x\x01" || string(got.Source) != `{"a":1}` {
			t.Errorf("id %q: decoded %+v", id, got)
		}
	}
}
