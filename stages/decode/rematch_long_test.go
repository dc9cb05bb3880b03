package decode

import (
	"bytes"
	"regexp"
	"runtime/debug"
	"slices"
	"testing"

	"github.com/siemstream/siemstream/schemas"
)

// Long lines against patterns with repeated groups: the matcher's stack
// stays small (the goroutine's stack limit is lowered to 64 MiB for the
// test; before the fix a 1 MB line took 520 MiB against rds-mysql-error's
// `(\s|T)+` and overflowed 1 GB with nested captures, a fatal error), and
// the result is still the regexp's.
func TestFastRELongLines(t *testing.T) {
	defer debug.SetMaxStack(debug.SetMaxStack(64 << 20))
	reg, err := schemas.Load(schemas.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mysql := reg.Lookup("rds-mysql-error").LogPattern
	nested := regexp.MustCompile(`^(?P<a>((?P<b>(x|y))(?P<c>(z|w)))+)(?P<rest>.*)$`)
	const n = 1 << 20
	cases := []struct {
		re *regexp.Regexp
		in []byte
	}{
		{mysql, append([]byte("2024-01-02"), append(bytes.Repeat([]byte(" "), n), "10:00:00Z msg"...)...)},
		{mysql, append([]byte("2024-01-02"), append(bytes.Repeat([]byte("T"), n), "10:00:00Z msg"...)...)},
		{nested, append(bytes.Repeat([]byte("xz"), n/2), " tail"...)},
		{nested, bytes.Repeat([]byte("yw"), n/2)},
		{regexp.MustCompile(`^(?:(ab)+?c)`), append(bytes.Repeat([]byte("ab"), n/2), 'c')},
	}
	for i, c := range cases {
		want := c.re.FindSubmatchIndex(c.in)
		got := findSubmatchIndex(c.re, c.in, nil)
		if !slices.Equal(got, want) {
			t.Errorf("case %d: %v, regexp %v", i, got, want)
		}
	}
}
