package doc

import (
	"errors"
	"strings"
	"testing"

	"github.com/siemstream/siemstream/internal/pyjson"
)

// Nesting past 900 levels is a clean syntax error (es-loader's json fails
// at about 950, Python's recursion limit), however deep the record is: the
// parser stops at the limit instead of recursing through the input.
func TestParseDepthLimit(t *testing.T) {
	nest := func(n int) []byte {
		return []byte(`{"r":` + strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n) + "}")
	}
	d := New()
	if err := d.ParseObject(nest(890)); err != nil {
		t.Fatalf("890 deep: %v", err)
	}
	for _, n := range []int{950, 10_000, 500_000} {
		d.Reset()
		err := d.ParseObject(nest(n))
		if !errors.Is(err, pyjson.ErrSyntax) || !strings.Contains(err.Error(), "nesting too deep") {
			t.Fatalf("%d deep: %v", n, err)
		}
	}
}
