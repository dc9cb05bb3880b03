package doc

import (
	"testing"
)

// appendMember is what a tree-free writer writes for {"k": v}.
func appendMember(v string) []byte {
	dst := []byte{'{'}
	dst = AppendStringMember(dst, 1, `"k":`, v)
	return append(dst, '}')
}

// encodeMember is what Encode writes for the same tree.
func encodeMember(v string) []byte {
	d := New()
	d.SetString(d.Root(), "k", v)
	out, _ := d.Encode()
	return out
}

func TestAppendersMatchEncode(t *testing.T) {
	for _, v := range []string{
		"", "-", "null", "[]", "[ ]", "--", "nul", "a", "plain text", `q"uote`, `back\slash`,
		"tab\there", "nl\n", "\x00\x1f\x7f", "é ü 日本", "bad \xff utf8", "\u2028\u2029", "nulls",
	} {
		if got, want := appendMember(v), encodeMember(v); string(got) != string(want) {
			t.Errorf("%q: appenders wrote %s, Encode %s", v, got, want)
		}
		if got, want := AppendQuotedAny(nil, []byte(v)), AppendQuoted(nil, []byte(v), false); string(got) != string(want) {
			t.Errorf("%q: AppendQuotedAny wrote %s, AppendQuoted %s", v, got, want)
		}
		removable := v == "" || v == "-" || v == "null" || v == "[]"
		if Removable([]byte(v)) != removable || RemovableText(v) != removable {
			t.Errorf("Removable(%q) != %v", v, removable)
		}
	}
	if got := AppendKey(nil, []byte(`a"b`), false); string(got) != `"a\"b":` {
		t.Errorf("AppendKey = %s", got)
	}
	if got := AppendQuoted(nil, []byte("abc"), true); string(got) != `"abc"` {
		t.Errorf("AppendQuoted plain = %s", got)
	}
}

func FuzzAppendersMatchEncode(f *testing.F) {
	for _, s := range []string{"", "-", "x", `"\`, "\xff", "日本"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if len(v) >= TruncateFieldBytes {
			return // Encode's truncation rule: not the appenders' contract
		}
		if got, want := appendMember(v), encodeMember(v); string(got) != string(want) {
			t.Fatalf("%q: appenders wrote %s, Encode %s", v, got, want)
		}
		if got, want := AppendQuotedAny(nil, []byte(v)), AppendQuoted(nil, []byte(v), false); string(got) != string(want) {
			t.Fatalf("%q: AppendQuotedAny wrote %s, AppendQuoted %s", v, got, want)
		}
	})
}
