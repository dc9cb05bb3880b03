package normalize

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"unsafe"

	"github.com/siemstream/siemstream/internal/pyjson"
)

// checkPlainSpans holds scanBad and plainSpan to pyjson.PlainLen for every
// span of line.
func checkPlainSpans(t *testing.T, line []byte) {
	t.Helper()
	var st pstate
	st.scanBad(line)
	for a := 0; a <= len(line); a++ {
		for b := a; b <= len(line); b++ {
			want := pyjson.PlainLen(line[a:b]) == b-a
			if got := st.plainSpan(a, b); got != want {
				t.Fatalf("plainSpan(%d, %d) of %q = %v, PlainLen says %v", a, b, line, got, want)
			}
		}
	}
}

func TestPlainSpans(t *testing.T) {
	for _, s := range []string{
		"",
		"a",
		`"`,
		`h2 2025-03-14T11:55:01.123456Z app/web "GET https://x:443/a?b=c HTTP/2.0" "curl/8.1" - -`,
		"abcdefg\"hijklmno\\pqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789\x7fABC",
		"\x1f\x20\x21\x22\x23\x5b\x5c\x5d\x7e\x7f\x80\xff\xc3\xa9 tail of more than sixty-four bytes to cross a word...",
		// every byte value, and each after a quote (a borrow that
		// pyjson's badMask would carry into the next byte)
		func() string {
			var b []byte
			for c := range 256 {
				b = append(b, byte(c), '"', byte(c), 'x')
			}
			return string(b)
		}(),
	} {
		checkPlainSpans(t, []byte(s))
		checkAppendBad(t, []byte(s))
	}
	for _, s := range []string{`"`, `\`, `a"b\c"`, `"x"0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz"\"`} {
		var st pstate
		if st.scanBad([]byte(s)); st.badCtl {
			t.Fatalf("scanBad(%q): badCtl", s)
		}
		checkAppendBad(t, []byte(s))
	}
	var st pstate
	for _, s := range []string{"\x00", "a\x7fb", "0123456789\xc3\xa9"} {
		if st.scanBad([]byte(s)); !st.badCtl {
			t.Fatalf("scanBad(%q): no badCtl", s)
		}
	}
}

func FuzzPlainSpans(f *testing.F) {
	f.Add([]byte(`h2 2025-03-14T11:55:01.123456Z app/web "GET https://x:443/a HTTP/2.0"`))
	f.Add([]byte("\"\x21\"\x5d\\\x5d\x1f\x20\x7e\x7f"))
	f.Fuzz(func(t *testing.T, line []byte) {
		if len(line) > 300 {
			line = line[:300]
		}
		checkPlainSpans(t, line)
		checkAppendBad(t, line)
	})
}

// checkAppendBad holds appendBad to pyjson.AppendQuoted for a line whose
// only bytes to escape are quotes and backslashes.
func checkAppendBad(t *testing.T, line []byte) {
	t.Helper()
	var st pstate
	st.scanBad(line)
	if st.badCtl {
		return
	}
	want := pyjson.AppendQuoted(nil, line)
	if got := st.appendBad([]byte("x"), line); string(got[1:]) != string(want) {
		t.Fatalf("appendBad(%q) = %s, want %s", line, got[1:], want)
	}
}

func BenchmarkScanBad(b *testing.B) {
	line, err := os.ReadFile(filepath.Join("../../testdata", "normalize/alb/web-prod.log"))
	if err != nil {
		b.Fatal(err)
	}
	line = bytes.SplitN(line, []byte("\n"), 2)[0]
	var st pstate
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		st.scanBad(line)
	}
}

// TestIDChunks: an _id text stays what it was while later ones are
// written (chunks are never reused), and equals md5hex.
func TestIDChunks(t *testing.T) {
	var c idChunks
	var ids []string
	for i := range 1000 {
		b := c.md5hex([]byte(strconv.Itoa(i)))
		ids = append(ids, unsafe.String(unsafe.SliceData(b), len(b)))
	}
	for i, id := range ids {
		if want := md5hex([]byte(strconv.Itoa(i))); id != want {
			t.Fatalf("id %d = %s, want %s", i, id, want)
		}
	}
	if n := testing.AllocsPerRun(1000, func() { c.md5hex([]byte("x")) }); n > 0.05 {
		t.Fatalf("%.3f allocations per id", n)
	}
}
