package doc

import "testing"

func TestFindPath(t *testing.T) {
	obj := []byte(`{"@message":"a \"source\":{\"ip\":1} \\","n":-1.5e3,"l":[{"ip":"x"},"]}"],"source":{"port":"80","ip":"10.0.0.1"},"e":{}}`)
	for _, c := range []struct {
		path []string
		want string
		ok   bool
	}{
		{[]string{"source", "ip"}, `"10.0.0.1"`, true},
		{[]string{"source"}, `{"port":"80","ip":"10.0.0.1"}`, true},
		{[]string{"n"}, `-1.5e3`, true},
		{[]string{"l"}, `[{"ip":"x"},"]}"]`, true},
		{[]string{"e"}, `{}`, true},
		{[]string{"ip"}, ``, false},
		{[]string{"e", "ip"}, ``, false},
		{[]string{"n", "ip"}, ``, false},
	} {
		s, e, ok := FindPath(obj, c.path)
		if ok != c.ok || ok && string(obj[s:e]) != c.want {
			t.Errorf("%v: %q %v, want %q %v", c.path, obj[s:e], ok, c.want, c.ok)
		}
	}
	for _, bad := range []string{``, `[]`, `{"a"}`, `{"a":"b`, `{"a":{"b":1}`} {
		if _, _, ok := FindPath([]byte(bad), []string{"a", "b"}); ok {
			t.Errorf("%q: found", bad)
		}
	}
}

func FuzzFindPath(f *testing.F) {
	f.Add([]byte(`{"a":{"b":"c"}}`), "a", "b")
	f.Fuzz(func(t *testing.T, obj []byte, a, b string) {
		if s, e, ok := FindPath(obj, []string{a, b}); ok && (s < 0 || e > len(obj) || s >= e) {
			t.Fatalf("span %d:%d of %d", s, e, len(obj))
		}
	})
}
