package exclude

import (
	"testing"
)

func FuzzParseCSVExclude(f *testing.F) {
	f.Add([]byte("log_type,field,pattern,pattern_type,comment\ncloudtrail,eventName,\"a,b\",text,c\nt,a.b,(x|y)$,regex,\n"))
	f.Add([]byte("log_type,field,pattern,pattern_type\nt,,\"unterminated\n"))
	f.Add([]byte("\xef\xbb\xbfpattern_type,pattern,field,log_type\nregex,\\,a,t\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rules, _, err := ParseCSV("fuzz.csv", data, nil)
		if err != nil {
			return
		}
		p := NewPatterns(rules)
		rec := AnyRecord{V: map[string]any{"a": map[string]any{"b": []any{"x", "y\n"}}, "eventName": "a,b"}}
		for _, r := range rules {
			p.Match(r.LogType, rec)
		}
	})
}
