package doc

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// truncateRef is es-loader's LogParser.truncate_txt on bytes: cut at n and
// retry the strict decode with one byte less until it succeeds.
func truncateRef(v []byte, n int) []byte {
	if len(v) <= n {
		return v
	}
	for k := n; k >= 0; k-- {
		if utf8.Valid(v[:k]) {
			return v[:k]
		}
	}
	return v[:0]
}

// TestTruncateUTF8Property: every cut length of strings holding one or two
// multi-byte characters (2, 3 and 4 bytes) at every position, plus invalid
// bytes (a stray continuation byte, a lone lead byte, an encoded surrogate),
// equals the reference.
func TestTruncateUTF8Property(t *testing.T) {
	pieces := []string{"é", "日", "😀", "\xbf", "\xe6", "\xed\xa0\x80", "\xf0\x9f\x98"}
	const width = 12
	check := func(v []byte) {
		for n := 0; n <= len(v)+1; n++ {
			got, want := truncateUTF8(v, n), truncateRef(v, n)
			if !bytes.Equal(got, want) {
				t.Fatalf("truncateUTF8(%q, %d) = %q, want %q", v, n, got, want)
			}
		}
	}
	for _, p := range pieces {
		for pos := 0; pos <= width; pos++ {
			check([]byte(strings.Repeat("a", pos) + p + strings.Repeat("b", width-pos)))
			for _, q := range pieces {
				for gap := 0; gap <= 4; gap++ {
					check([]byte(strings.Repeat("a", pos) + p + strings.Repeat("b", gap) + q + "c"))
				}
			}
		}
	}
}

// TestTruncateUTF8LastBytesMidCharacter is the rds-postgresql case: the cut
// is on a character boundary but the last 4 kept bytes begin inside a
// 3-byte character; the whole 32753 bytes must be kept.
func TestTruncateUTF8LastBytesMidCharacter(t *testing.T) {
	v := []byte(strings.Repeat("a", TruncateKeepBytes-5) + "日" + "ab" + strings.Repeat("日", 20000))
	if got := truncateUTF8(v, TruncateKeepBytes); len(got) != TruncateKeepBytes {
		t.Errorf("kept %d bytes, want %d", len(got), TruncateKeepBytes)
	}
	d := New()
	d.SetString(d.Root(), "statement", string(v))
	d.SetString(d.Root(), "@message", string(v))
	out, tr := d.Encode()
	if !tr {
		t.Fatal("not truncated")
	}
	var m map[string]string
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatal(err)
	}
	if want := string(v[:TruncateKeepBytes]) + TruncatedMark; m["statement"] != want {
		t.Errorf("statement: %d bytes, want %d", len(m["statement"]), len(want))
	}
}

func FuzzTruncateUTF8(f *testing.F) {
	f.Add([]byte("aé日😀"), 3)
	f.Add([]byte("ab\xe6\x97\xa5\xbfc"), 5)
	f.Add([]byte("\xed\xa0\x80x"), 2)
	f.Fuzz(func(t *testing.T, v []byte, n int) {
		if n < 0 || n > len(v)+2 {
			return
		}
		got, want := truncateUTF8(v, n), truncateRef(v, n)
		if !bytes.Equal(got, want) {
			t.Fatalf("truncateUTF8(%q, %d) = %q, want %q", v, n, got, want)
		}
	})
}
