package pystr

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// pythonSpace is [c for c in range(0x110000) if chr(c).isspace()] from
// CPython 3.11.
var pythonSpace = []rune{
	0x9, 0xa, 0xb, 0xc, 0xd, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680,
	0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a,
	0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
}

func TestIsSpaceMatchesPython(t *testing.T) {
	for r := rune(-1); r <= utf8.MaxRune+1; r++ {
		if got, want := IsSpace(r), slices.Contains(pythonSpace, r); got != want {
			t.Fatalf("IsSpace(%U) = %v, want %v", r, got, want)
		}
	}
}

func TestStrip(t *testing.T) {
	for _, tc := range []struct{ in, strip, rstrip string }{
		{"", "", ""},
		{" \t\n", "", ""},
		{"\x1c a b \x1f", "a b", "\x1c a b"},
		{"\u3000x\u00a0", "x", "\u3000x"},
		{"\ufeffx\ufeff", "\ufeffx\ufeff", "\ufeffx\ufeff"},
		{"\xff x \xff", "\xff x \xff", "\xff x \xff"},
		{" \u2028 ", "", ""},
	} {
		if got := Strip(tc.in); got != tc.strip {
			t.Errorf("Strip(%q) = %q, want %q", tc.in, got, tc.strip)
		}
		if got := string(StripBytes([]byte(tc.in))); got != tc.strip {
			t.Errorf("StripBytes(%q) = %q, want %q", tc.in, got, tc.strip)
		}
		if got := string(RStripBytes([]byte(tc.in))); got != tc.rstrip {
			t.Errorf("RStripBytes(%q) = %q, want %q", tc.in, got, tc.rstrip)
		}
	}
}

func TestFields(t *testing.T) {
	for _, in := range []string{"", "  ", "a", " a  b\tc ", "a\u3000b\x1cc", "\xffa \xfe", "x\u0085y\u00a0"} {
		want := Fields(in)
		var got []string
		for _, f := range AppendFields(nil, []byte(in)) {
			got = append(got, string(f))
		}
		if !slices.Equal(got, want) {
			t.Errorf("AppendFields(%q) = %q, Fields = %q", in, got, want)
		}
	}
	if got := strings.Join(Fields(" a\u2000b\x1dc "), ","); got != "a,b,c" {
		t.Errorf("Fields = %q", got)
	}
}

func FuzzStripBytes(f *testing.F) {
	f.Add([]byte(" \u3000a b\x1c"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := string(StripBytes(b)), Strip(string(b)); got != want {
			t.Fatalf("StripBytes(%q) = %q, Strip = %q", b, got, want)
		}
		var got []string
		for _, fld := range AppendFields(nil, b) {
			got = append(got, string(fld))
		}
		if want := Fields(string(b)); !slices.Equal(got, want) {
			t.Fatalf("AppendFields(%q) = %q, Fields = %q", b, got, want)
		}
	})
}
