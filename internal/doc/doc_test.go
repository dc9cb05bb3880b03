package doc

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"unsafe"
)

func parse(t testing.TB, s string) *Doc {
	t.Helper()
	d := New()
	if err := d.ParseObject([]byte(s)); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return d
}

func TestParseDuplicateKeysAndOrder(t *testing.T) {
	d := parse(t, `{"b":1,"a":{"x":1},"b":{"y":[1,2,{"z":null}]},"c":"é\u00e9"}`)
	got := string(d.AppendValueJSON(nil, d.Root()))
	want := `{"b":{"y":[1,2,{"z":null}]},"a":{"x":1},"c":"éé"}`
	if got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
	if d.Kind(d.FindDotted("b.y.2")) != Object || d.Find(ParsePath("b.y.1")) == Nil {
		t.Error("array index path")
	}
	if d.FindDotted("b.y.x") != Nil || d.FindDotted("a.0") != Nil {
		t.Error("digit segment must not match object keys and names must not index arrays")
	}
	for _, bad := range []string{`[1]`, `"s"`, `{"a":}`, `{"a":1} x`, `{`, ``} {
		if err := New().ParseObject([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestMergeSemantics(t *testing.T) {
	d := parse(t, `{"a":1,"b":{"x":10,"z":30},"s":"str","o":{"k":1}}`)
	src := d.NewObject()
	bo := d.SetObject(src, "b")
	d.SetString(bo, "x", "10")
	d.SetString(bo, "y", "20")
	d.SetString(src, "c", "4")
	so := d.SetObject(src, "s")
	d.SetString(so, "inner", "v")
	d.SetString(src, "o", "scalar")
	d.Merge(d.Root(), src)
	got := string(d.AppendValueJSON(nil, d.Root()))
	want := `{"a":1,"b":{"x":"10","z":30,"y":"20"},"s":{"inner":"v"},"o":"scalar","c":"4"}`
	if got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
	// a member set again keeps its position
	d.SetString(d.Root(), "a", "first")
	if k := string(d.Key(d.First(d.Root()))); k != "a" {
		t.Errorf("position lost: %s", k)
	}
	if !d.Delete(d.Root(), "a") || d.Child(d.Root(), "a") != Nil || d.Delete(d.Root(), "a") {
		t.Error("delete")
	}
}

func TestEncodeDelNone(t *testing.T) {
	d := parse(t, `{"keep":"x","e":"","dash":"-","n":"null","lb":"[]","nil":null,"el":[],"one":[""],"two":["",""],
		"obj":{"a":"-","b":{"c":null}},"zero":0,"f":false,
		"list":[{"a":"-","b":"v"},{"c":null},"-",null,[{"d":"-"}]],"deep":{"x":{"y":{"z":""}}},"ok":{"v":"-x"}}`)
	out, tr := d.Encode()
	want := `{"keep":"x","two":["",""],"zero":0,"f":false,"list":[{"b":"v"},{},"-",null,[{"d":"-"}]],"ok":{"v":"-x"}}`
	if string(out) != want || tr {
		t.Errorf("got %s\nwant %s", out, want)
	}
	// Encode does not change the tree
	if d.Child(d.Root(), "dash") == Nil {
		t.Error("Encode modified the tree")
	}
}

func TestEncodeTruncation(t *testing.T) {
	big := strings.Repeat("é", 20000)          // 40000 bytes, 20000 chars
	wide := strings.Repeat("\U0001F600", 9000) // 36000 bytes but only 9000 chars: kept
	d := New()
	r := d.Root()
	d.SetString(r, "@message", big)
	d.SetString(r, "big", big)
	d.SetString(r, "wide", wide)
	d.SetObject(r, "o")
	d.SetString(d.Child(r, "o"), "big", big)
	arr := d.SetArray(r, "arr")
	d.AppendString(arr, big)
	out, tr := d.Encode()
	if !tr {
		t.Fatal("not truncated")
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatal(err)
	}
	cut := m["big"].(string)
	if !strings.HasSuffix(cut, "<<TRUNCATED>>") || len(cut) != 32752+len("<<TRUNCATED>>") {
		t.Errorf("big: %d bytes", len(cut))
	}
	if m["@message"].(string) != big || m["wide"].(string) != wide || m["arr"].([]any)[0].(string) != big {
		t.Error("only strings under objects, except @message, are cut")
	}
	if !strings.HasSuffix(m["o"].(map[string]any)["big"].(string), "<<TRUNCATED>>") {
		t.Error("nested object string not cut")
	}
	// a small document is never truncated even with one big string
	d2 := New()
	d2.SetString(d2.Root(), "s", strings.Repeat("a", 40000))
	if out, tr := d2.Encode(); tr || len(out) < 40000 {
		t.Error("document under 65536 chars must not be truncated")
	}
}

var reprCases = []string{
	`{"a":"it's","b":"say \"hi\"","c":"both ' and \"","d":"tab\tnl\nbs\\","e":"\u0000\u001f\u007f\u0085\u00a0é\u200b\u2028日本😀"}`,
	`{"n":[1,-0,2.50,1E5,1e22,true,false,null,{},[]],"s":"plain"}`,
}

func TestPyReprAgainstPython(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	in, _ := json.Marshal(reprCases)
	cmd := exec.Command(py, "-c", `import json,sys
for s in json.load(sys.stdin):
    print(json.dumps(repr(json.loads(s))))`)
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	for i, c := range reprCases {
		var want string
		json.Unmarshal([]byte(lines[i]), &want)
		d := parse(t, c)
		if got := string(d.AppendPyRepr(nil, d.Root())); got != want {
			t.Errorf("repr %s:\n got %s\nwant %s", c, got, want)
		}
	}
}

func TestTruthyAndToAny(t *testing.T) {
	d := parse(t, `{"z":0,"zf":0.0,"ze":0e10,"o":1,"f":0.5,"s":"","t":"x","a":[],"m":{},"n":null}`)
	for k, want := range map[string]bool{"z": false, "zf": false, "ze": false, "o": true, "f": true, "s": false, "t": true, "a": false, "m": false, "n": false} {
		if got := d.Truthy(d.Child(d.Root(), k)); got != want {
			t.Errorf("%s: %v", k, got)
		}
	}
	m := d.ToAny(d.Root()).(map[string]any)
	if m["o"].(json.Number) != "1" || m["t"] != "x" || m["n"] != nil {
		t.Errorf("ToAny: %v", m)
	}
}

func TestPoolReuseNoAlloc(t *testing.T) {
	raw := []byte(`{"eventName":"GetObject","requestParameters":{"bucketName":"b","key":"k"},"n":[1,2,3]}`)
	d := Get()
	n := testing.AllocsPerRun(200, func() {
		d.Reset()
		if err := d.ParseObject(raw); err != nil {
			t.Fatal(err)
		}
		d.SetString(d.SetObject(d.Root(), "source"), "ip", "10.0.0.1")
		d.Encode()
	})
	if n > 0 {
		t.Errorf("%.1f allocs per reused document", n)
	}
	Put(d)
}

func FuzzParseDoc(f *testing.F) {
	for _, c := range reprCases {
		f.Add([]byte(c))
	}
	f.Add([]byte(`{"a":{"b":[1,{"c":"-"}]},"a":2}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		d := New()
		if err := d.ParseObject(raw); err != nil {
			return
		}
		out := d.AppendValueJSON(nil, d.Root())
		if !json.Valid(out) {
			t.Fatalf("invalid JSON %q from %q", out, raw)
		}
		enc, _ := d.Encode()
		if !json.Valid(enc) {
			t.Fatalf("invalid encoded JSON %q", enc)
		}
		_ = d.AppendPyRepr(nil, d.Root())
		// round trip is stable
		d2 := New()
		if err := d2.ParseObject(out); err != nil {
			t.Fatalf("reparse: %v", err)
		}
		if got := d2.AppendValueJSON(nil, d2.Root()); !bytes.Equal(got, out) {
			t.Fatalf("round trip:\n%s\n%s", out, got)
		}
	})
}

// A node is 32 bytes (two to a cache line): the batch's trees do not fit
// the caches, so every byte of a node costs misses in normalize and encode.
func TestNodeSize(t *testing.T) {
	if n := unsafe.Sizeof(node{}); n != 32 {
		t.Fatalf("node is %d bytes, want 32", n)
	}
}
